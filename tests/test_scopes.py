"""kgraph.name_scope, kgraph.device and kgraph.StatelessScope against Keras 3's."""

import jax
import keras
import numpy as np
import pytest

import kgraph


def _paths(module):
    with module.name_scope("outer"):
        variable = module.Variable(np.zeros(3, "float32"), name="w")
        with module.name_scope("inner"):
            dense = module.layers.Dense(2)
            dense.build((None, 3))
        with module.name_scope("top", override_parent=""):
            other = module.Variable(np.zeros(2, "float32"), name="v")
    return [variable.path, *(w.path.replace(dense.name, "dense") for w in dense.weights), other.path]


def test_name_scope_paths_match_keras():
    assert _paths(kgraph) == _paths(keras) == ["outer/w", "outer/inner/dense/kernel", "outer/inner/dense/bias", "top/v"]
    assert kgraph.Variable(np.zeros(1, "float32"), name="free").path == "free"


def test_name_scope_deduplicates_a_caller_and_rejects_slashes():
    owner = object()
    with kgraph.name_scope("a", caller=owner), kgraph.name_scope("a", caller=owner):
        assert kgraph.Variable(np.zeros(1, "float32"), name="x").path == "a/x"
    with pytest.raises(ValueError, match="cannot contain character `/`"):
        kgraph.name_scope("a/b")


def test_device_places_arrays():
    with kgraph.device("cpu:0"):
        array = kgraph.ops.ones((2, 2))
    assert array.devices() == {jax.devices("cpu")[0]}
    with kgraph.device(jax.devices("cpu")[0]):
        assert kgraph.ops.zeros((1,)).devices() == {jax.devices("cpu")[0]}
    with pytest.raises(ValueError, match="Device not found: 'cpu:7'"):
        kgraph.device("cpu:7")
    with pytest.raises(ValueError, match="device_name"):
        kgraph.device(3)


def _stateless_run(module, weights, x):
    model = module.Sequential([module.Input((3,)), module.layers.Dense(4), module.layers.BatchNormalization()])
    model.set_weights(weights)
    mapping = [(v, np.full(v.shape, 0.5, "float32")) for v in model.weights]
    with module.StatelessScope(state_mapping=mapping) as scope:
        out = model(x, training=True)
        model.layers[0].kernel.assign(np.full((3, 4), 2.0, "float32"))
    current = [None if scope.get_current_value(v) is None else np.asarray(scope.get_current_value(v))
               for v in model.weights]
    return np.asarray(out), current, [np.asarray(v) for v in model.get_weights()]


def test_stateless_scope_matches_keras():
    kgraph.utils.set_random_seed(0)
    weights = kgraph.Sequential([kgraph.Input((3,)), kgraph.layers.Dense(4),
                                 kgraph.layers.BatchNormalization()]).get_weights()
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    ours, theirs = _stateless_run(kgraph, weights, x), _stateless_run(keras, weights, x)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
    for mine, ref in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6)
    for mine, ref, original in zip(ours[2], theirs[2], weights):  # nothing was applied to the variables
        np.testing.assert_array_equal(mine, original)
        np.testing.assert_array_equal(ref, original)


def test_stateless_scope_checks_its_mapping():
    variable = kgraph.Variable(np.zeros(3, "float32"), name="w")
    with pytest.raises(ValueError, match="must be Variable instances"):
        kgraph.StatelessScope([(np.zeros(3), np.zeros(3))])
    with pytest.raises(ValueError, match="shape that matches"):
        kgraph.StatelessScope([(variable, np.zeros(4, "float32"))])
    with kgraph.StatelessScope() as scope:
        assert scope.get_current_value(variable) is None
        scope.add_update((variable, np.ones(3, "float32")))
        np.testing.assert_array_equal(np.asarray(variable.value), np.ones(3))
    np.testing.assert_array_equal(variable.numpy(), np.zeros(3))
