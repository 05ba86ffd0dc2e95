"""LearningRateScheduler and ReduceLROnPlateau in fit, against Keras 3's fit with the same weights and callbacks."""

import keras
import numpy as np
import pytest

import kgraph

rng = np.random.default_rng(4)
X = rng.normal(size=(64, 5)).astype("float32")
Y = (X @ rng.normal(size=(5, 2)) + 0.1 * rng.normal(size=(64, 2))).astype("float32")


def fit_both(make_callbacks, epochs=5, learning_rate=0.05):
    kgraph.utils.set_random_seed(9)
    ours = kgraph.Sequential([kgraph.Input((5,)), kgraph.layers.Dense(6, activation="tanh"), kgraph.layers.Dense(2)])
    theirs = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(2)])
    theirs.set_weights(ours.get_weights())
    histories = []
    for module, model in ((kgraph, ours), (keras, theirs)):
        model.compile(module.optimizers.SGD(learning_rate, momentum=0.9), loss="mse")
        histories.append(model.fit(X, Y, batch_size=16, epochs=epochs, shuffle=False, verbose=0,
                                   callbacks=make_callbacks(module)).history)
    return (ours, theirs), histories


def test_learning_rate_scheduler_matches_keras():
    def schedule(epoch, lr):
        return lr if epoch < 2 else lr * 0.5

    (ours, theirs), (h_ours, h_theirs) = fit_both(lambda m: [m.callbacks.LearningRateScheduler(schedule)])
    np.testing.assert_allclose(h_ours["loss"], h_theirs["loss"], rtol=1e-5)
    np.testing.assert_allclose(h_ours["learning_rate"], h_theirs["learning_rate"], rtol=1e-7)
    assert h_ours["learning_rate"] == pytest.approx([0.05, 0.05, 0.025, 0.0125, 0.00625])
    assert ours.optimizer.learning_rate == pytest.approx(float(theirs.optimizer.learning_rate))
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_learning_rate_scheduler_old_one_argument_api_and_type_check():
    (_, _), (h_ours, h_theirs) = fit_both(lambda m: [m.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))],
                                          epochs=3)
    np.testing.assert_allclose(h_ours["loss"], h_theirs["loss"], rtol=1e-5)
    model = kgraph.Sequential([kgraph.Input((5,)), kgraph.layers.Dense(2)])
    model.compile("sgd", loss="mse")
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[kgraph.callbacks.LearningRateScheduler(lambda e, lr: "x")])


def test_reduce_lr_on_plateau_matches_keras(capsys):
    # a large min_delta makes every epoch after the first a plateau; the rate halves each time, down to min_lr
    def callbacks(module):
        return [module.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0,
                                                   min_lr=0.01, verbose=1)]

    (ours, theirs), (h_ours, h_theirs) = fit_both(callbacks, epochs=6)
    np.testing.assert_allclose(h_ours["loss"], h_theirs["loss"], rtol=1e-5)
    assert h_ours["learning_rate"] == pytest.approx(h_theirs["learning_rate"], rel=1e-7)
    assert h_ours["learning_rate"] == pytest.approx([0.05, 0.05, 0.025, 0.0125, 0.01, 0.01])
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.025" in capsys.readouterr().out
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
