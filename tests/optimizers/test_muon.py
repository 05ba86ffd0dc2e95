"""Muon against Keras 3's, step by step on identical weights and gradients, with its AdamW routing by shape and
path, its config, and in fit."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import kgraph
import kgraph.optimizers as ko

# (name, shape): a matrix for Muon, a tall matrix (transposed inside Newton-Schulz), a vector and an embedding and an
# excluded "head" matrix for AdamW.
VARIABLES = [("kernel", (6, 4)), ("tall", (3, 5)), ("bias", (4,)), ("token_embedding", (5, 3)), ("head", (4, 2))]
STEPS = 10


def _data(seed):
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s).astype("float32") for _, s in VARIABLES]
    grads = [[(rng.normal(size=s) * 10 ** rng.uniform(-2, 0.3)).astype("float32") for _, s in VARIABLES]
             for _ in range(STEPS)]
    return init, grads


@pytest.mark.parametrize("kwargs", [
    {},
    {"learning_rate": 0.01, "exclude_layers": ["head"], "nesterov": False, "rms_rate": None, "adam_lr_ratio": 0.5},
    {"learning_rate": 0.02, "weight_decay": 0.1, "adam_weight_decay": 0.01, "ns_steps": 3, "global_clipnorm": 1.0},
])
def test_matches_keras_every_step(kwargs):
    init, grads = _data(0)
    theirs = keras.optimizers.Muon(**kwargs)
    keras_vars = [keras.Variable(v, name=name) for v, (name, _) in zip(init, VARIABLES)]
    ours = ko.Muon(**kwargs)
    our_vars = [kgraph.Variable(v, name=name) for v, (name, _) in zip(init, VARIABLES)]
    ours.build(our_vars)
    params = [v.value for v in our_vars]
    step = jax.jit(ours.stateless_apply)
    for i, g in enumerate(grads):
        theirs.apply([jnp.asarray(x) for x in g], keras_vars)
        params, ours.state = step(ours.state, g, params)
        for mine, var in zip(params, keras_vars):
            np.testing.assert_allclose(mine, var.value, rtol=1e-5, atol=1e-6, err_msg=f"{var.path} step {i + 1}")
    keras_state = [np.asarray(v.value) for v in theirs.variables]
    our_state = [np.asarray(v) for v in ours.variables]
    assert [a.shape for a in our_state] == [a.shape for a in keras_state]
    for mine, ref in zip(our_state[2:], keras_state[2:]):
        np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6)


def test_routing_follows_keras():
    ours = ko.Muon(exclude_layers=["head"])
    variables = [kgraph.Variable(np.zeros(s, "float32"), name=n) for n, s in VARIABLES]
    assert [ours._should_use_adamw(v) for v in variables] == [False, False, True, True, True]


def test_config_round_trip_and_keras_interop():
    opt = ko.Muon(learning_rate=0.02, exclude_layers=["out"], ns_steps=4, rms_rate=None, momentum=0.9)
    again = ko.deserialize(ko.serialize(opt))
    assert type(again) is ko.Muon and again.get_config() == opt.get_config()
    keras_opt = keras.optimizers.deserialize(ko.serialize(opt))
    assert keras_opt.ns_steps == 4 and keras_opt.exclude_layers == ["out"] and keras_opt.rms_rate is None
    back = ko.deserialize(keras.optimizers.serialize(keras_opt))
    assert back.get_config() == pytest.approx({**opt.get_config(), "learning_rate": float(np.float32(0.02))})


def test_bad_arguments_name_them():
    with pytest.raises(ValueError, match="ns_steps"):
        ko.Muon(ns_steps=-1)
    with pytest.raises(ValueError, match="momentum"):
        ko.Muon(momentum=1.5)


def test_fit_matches_keras():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(32, 6)).astype("float32"), rng.normal(size=(32, 2)).astype("float32")
    kgraph.utils.set_random_seed(0)
    ours = kgraph.Sequential([kgraph.Input((6,)), kgraph.layers.Dense(4, activation="tanh"),
                              kgraph.layers.Dense(2, name="head")])
    theirs = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="tanh"),
                               keras.layers.Dense(2, name="head")])
    theirs.set_weights(ours.get_weights())
    for model, module in ((ours, ko), (theirs, keras.optimizers)):
        model.compile(module.Muon(learning_rate=0.01, exclude_layers=["head"]), loss="mse")
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for mine, ref in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6)
