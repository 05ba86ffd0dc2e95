"""ScheduleFreeAdamW's state, config and fit against Keras 3's (its per-step weights are compared in
test_optimizers.py with the other assigning optimizers)."""

import keras
import numpy as np
import pytest

import kgraph
import kgraph.optimizers as ko
from tests.optimizers.test_optimizers import KerasJitRun, KgraphRun, _data


def test_state_matches_keras_variables():
    init, grads = _data(seed=11)
    kwargs = {"learning_rate": 0.01, "warmup_steps": 3}
    ours, ref = KgraphRun("ScheduleFreeAdamW", kwargs, init), KerasJitRun("ScheduleFreeAdamW", kwargs, init)
    np.testing.assert_array_equal(np.asarray(ours.opt.variables[2]), init[0])  # momentum starts at the weights
    for g in grads[:12]:
        ours.step(g), ref.step(g)
    ours_state, keras_state = [np.asarray(v) for v in ours.opt.variables], [np.asarray(v) for v in ref.opt_values]
    assert [a.shape for a in ours_state] == [a.shape for a in keras_state]
    for mine, theirs in zip(ours_state, keras_state):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_config_round_trip_and_keras_interop():
    opt = ko.ScheduleFreeAdamW(learning_rate=0.01, beta_1=0.8, warmup_steps=10, weight_decay=0.01)
    again = ko.deserialize(ko.serialize(opt))
    assert type(again) is ko.ScheduleFreeAdamW and again.get_config() == opt.get_config()
    keras_opt = keras.optimizers.deserialize(ko.serialize(opt))
    assert keras_opt.warmup_steps == 10 and keras_opt.beta_1 == 0.8
    back = ko.deserialize(keras.optimizers.serialize(keras_opt))
    assert back.get_config() == pytest.approx({**opt.get_config(), "learning_rate": float(np.float32(0.01))})
    with pytest.raises(ValueError, match="warmup_steps"):
        ko.ScheduleFreeAdamW(warmup_steps=-1)


def test_fit_matches_keras():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(32, 5)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    kgraph.utils.set_random_seed(2)
    ours = kgraph.Sequential([kgraph.Input((5,)), kgraph.layers.Dense(3, activation="relu"), kgraph.layers.Dense(1)])
    theirs = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
    theirs.set_weights(ours.get_weights())
    for model, module in ((ours, ko), (theirs, keras.optimizers)):
        model.compile(module.ScheduleFreeAdamW(learning_rate=0.01, warmup_steps=4), loss="mse")
        model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    for mine, ref in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6)
