"""MultiOptimizer and OptimizerMap against Keras 3's: routing by path, per-step updates, state, config, fit."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import kgraph
import kgraph.optimizers as ko

NAMES = [("encoder_kernel", (3, 4)), ("encoder_bias", (4,)), ("head_kernel", (4, 2)), ("other", (2,))]


def _build(module):
    adam, sgd, rms = module.Adam(0.01), module.SGD(0.1, momentum=0.9), module.RMSprop(0.01)
    return module.MultiOptimizer(module.OptimizerMap(sgd, {"encoder_.*": adam, "head_kernel": rms}))


def test_optimizer_map_lookup_follows_keras():
    for module in (ko, keras.optimizers):
        adam, sgd, rms = module.Adam(), module.SGD(), module.RMSprop()
        mapping = module.OptimizerMap(default_optimizer=rms)
        mapping["encoder/layer_0/dense"] = adam
        mapping["encoder/.*"] = sgd
        mapping["decoder"] = adam
        assert mapping["decoder"] is adam and mapping["encoder/layer_0/dense"] is adam
        assert mapping["encoder/layer_0/attention/query"] is sgd and mapping["decoder/layer_0/dense"] is rms
        with pytest.raises(ValueError, match="already exists"):
            mapping["decoder"] = sgd
        mapping["encoder/layer_0/.*"] = sgd
        with pytest.raises(ValueError, match="Multiple optimizers"):
            mapping["encoder/layer_0/attention"]


def test_matches_keras_every_step():
    rng = np.random.default_rng(0)
    init = [rng.normal(size=s).astype("float32") for _, s in NAMES]
    ours, theirs = _build(ko), _build(keras.optimizers)
    our_vars = [kgraph.Variable(v, name=n) for v, (n, _) in zip(init, NAMES)]
    keras_vars = [keras.Variable(v, name=n) for v, (n, _) in zip(init, NAMES)]
    ours.build(our_vars)
    params = [v.value for v in our_vars]
    step = jax.jit(ours.stateless_apply)
    for i in range(10):
        grads = [rng.normal(size=s).astype("float32") for _, s in NAMES]
        theirs.apply([jnp.asarray(g) for g in grads], keras_vars)
        params, ours.state = step(ours.state, grads, params)
        for mine, ref in zip(params, keras_vars):
            np.testing.assert_allclose(mine, ref.value, rtol=1e-5, atol=1e-6, err_msg=f"{ref.path} step {i + 1}")
    assert [type(o).__name__ for o in ours.optimizers] == [type(o).__name__ for o in theirs.optimizers]
    assert [o.iterations for o in ours.optimizers] == [int(o.iterations.value) for o in theirs.optimizers]
    keras_state = [np.asarray(v.value) for v in theirs.variables]
    our_state = [np.asarray(v) for v in ours.variables]
    assert [a.shape for a in our_state] == [a.shape for a in keras_state]
    for mine, ref in zip(our_state, keras_state):
        np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6)


def test_config_round_trip_and_keras_interop():
    opt = _build(ko)
    again = ko.deserialize(ko.serialize(opt))
    assert type(again) is ko.MultiOptimizer and again.get_config() == opt.get_config()
    keras_opt = keras.optimizers.deserialize(ko.serialize(opt))
    assert [type(o).__name__ for o in keras_opt.optimizers] == ["Adam", "RMSprop", "SGD"]
    back = ko.deserialize(keras.optimizers.serialize(keras_opt))
    assert [type(o).__name__ for o in back.optimizers] == ["Adam", "RMSprop", "SGD"]
    assert back.optimizers[2].momentum == pytest.approx(0.9)
    with pytest.raises(AttributeError, match="sub-optimizers"):
        opt.learning_rate


def test_fit_matches_keras_and_refuses_arrays():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(32, 3)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    kgraph.utils.set_random_seed(0)
    ours = kgraph.Sequential([kgraph.Input((3,)), kgraph.layers.Dense(4, activation="tanh", name="encoder"),
                              kgraph.layers.Dense(1, name="head")])
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh", name="encoder"),
                               keras.layers.Dense(1, name="head")])
    theirs.set_weights(ours.get_weights())
    # Keras puts the model's name in front of its layers' variable paths, kgraph does not: the pattern takes both.
    for model, module in ((ours, ko), (theirs, keras.optimizers)):
        routing = module.OptimizerMap(module.SGD(0.05), {"(sequential/)?encoder/.*": module.Adam(0.01)})
        model.compile(module.MultiOptimizer(routing), loss="mse")
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for mine, ref in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="paths"):
        _build(ko).build([jnp.zeros(3)])


def test_saved_state_crosses_to_keras_and_back(tmp_path):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 1)).astype("float32")
    model = kgraph.Sequential([kgraph.Input((3,)), kgraph.layers.Dense(4, name="encoder"),
                               kgraph.layers.Dense(1, name="head")])
    model.compile(ko.MultiOptimizer(ko.OptimizerMap(ko.SGD(0.1, momentum=0.9), {".*encoder.*": ko.Adam(0.01)})),
                  loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    trained = [np.asarray(v) for v in model.optimizer.variables]
    path = tmp_path / "multi.keras"
    model.save(path)
    theirs = keras.saving.load_model(path)
    assert len(theirs.optimizer.variables) == len(trained) == 12
    for ref, mine in zip(theirs.optimizer.variables, trained):
        np.testing.assert_allclose(np.asarray(ref), mine)
    theirs.save(tmp_path / "resaved.keras")
    again = kgraph.saving.load_model(tmp_path / "resaved.keras")
    for value, mine in zip(again.optimizer.variables, trained):
        np.testing.assert_allclose(np.asarray(value), mine)
    assert [opt.iterations for opt in again.optimizer.optimizers] == [2, 2]
