"""`use_ema=True` in fit and the SwapEMAWeights callback, against Keras 3 on identical weights and data."""

import keras
import numpy as np
import pytest

import kgraph
from tests.callbacks.test_simple_callbacks import X, Y


def _pair(module, weights=None, **opt_kwargs):
    model = module.Sequential([module.Input((4,)), module.layers.Dense(3, activation="tanh"), module.layers.Dense(1)])
    if weights is not None:
        model.set_weights(weights)
    model.compile(module.optimizers.Adam(0.05, use_ema=True, ema_momentum=0.9, **opt_kwargs), loss="mse")
    return model


def _fit_both(callbacks_for, **opt_kwargs):
    kgraph.utils.set_random_seed(4)
    ours = _pair(kgraph, **opt_kwargs)
    theirs = _pair(keras, ours.get_weights(), **opt_kwargs)
    histories = []
    for model, module in ((ours, kgraph), (theirs, keras)):
        histories.append(model.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                                   validation_data=(X[:16], Y[:16]), callbacks=callbacks_for(module)).history)
    return ours, theirs, histories


def _assert_weights(ours, theirs):
    for mine, ref in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opt_kwargs", [{}, {"ema_overwrite_frequency": 2}])
def test_fit_finalizes_to_the_moving_average_as_keras(opt_kwargs):
    ours, theirs, (mine, ref) = _fit_both(lambda module: [], **opt_kwargs)
    _assert_weights(ours, theirs)
    np.testing.assert_allclose(mine["val_loss"], ref["val_loss"], rtol=1e-5)
    assert [np.asarray(v).shape for v in ours.optimizer.variables] == \
        [tuple(v.shape) for v in theirs.optimizer.variables]


@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_swap_ema_weights_validates_with_the_averages_as_keras(swap_on_epoch):
    ours, theirs, (mine, ref) = _fit_both(
        lambda module: [module.callbacks.SwapEMAWeights(swap_on_epoch=swap_on_epoch)])
    np.testing.assert_allclose(mine["val_loss"], ref["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(mine["loss"], ref["loss"], rtol=1e-5)
    _assert_weights(ours, theirs)
    # evaluate swaps the averages in and back out.
    before = ours.get_weights()
    results = [model.evaluate(X, Y, verbose=0, callbacks=[module.callbacks.SwapEMAWeights()])
               for model, module in ((ours, kgraph), (theirs, keras))]
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5)
    for mine_w, prev in zip(ours.get_weights(), before):
        np.testing.assert_array_equal(mine_w, prev)


def test_swap_ema_weights_differs_from_plain_validation():
    _, _, (plain, _) = _fit_both(lambda module: [])
    _, _, (swapped, _) = _fit_both(lambda module: [module.callbacks.SwapEMAWeights()])
    assert not np.allclose(plain["val_loss"][:-1], swapped["val_loss"][:-1])


def test_swap_ema_weights_needs_use_ema():
    model = kgraph.Sequential([kgraph.Input((4,)), kgraph.layers.Dense(1)])
    model.compile("adam", loss="mse")
    with pytest.raises(ValueError, match="use_ema=True"):
        model.fit(X, Y, epochs=1, verbose=0, validation_data=(X, Y), callbacks=[kgraph.callbacks.SwapEMAWeights()])


def test_predict_uses_the_averages_and_restores_the_weights():
    ours, _, _ = _fit_both(lambda module: [])
    moved = [w * 0.5 for w in ours.get_weights()]  # fit ended on the averages; move the weights away from them
    ours.set_weights(moved)
    averages = [np.asarray(a) for a in ours.optimizer.state["model_variables_moving_average"]]
    with_ema = ours.predict(X, verbose=0, callbacks=[kgraph.callbacks.SwapEMAWeights()])
    for weight, expected in zip(ours.get_weights(), moved):
        np.testing.assert_array_equal(weight, expected)
    ours.set_weights(averages)
    np.testing.assert_allclose(with_ema, ours.predict(X, verbose=0), rtol=1e-6)
