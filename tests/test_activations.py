"""kgraph.activations against keras.activations: values and gradients, name lookup, and ONNX vs XLA."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import kgraph
from kgraph import activations

X = np.concatenate([np.random.default_rng(0).normal(size=(4, 9)) * 3,
                    [[-7.0, -1.5, -0.9, -0.3, 0.2, 0.7, 1.2, 2.5, 8.0]]]).astype("float32")

# Keras 3's activations, each by name, with extra arguments where it takes them.
CASES = [
    ("linear", {}), ("relu", {}), ("relu", {"negative_slope": 0.1}), ("relu", {"max_value": 6.0}),
    ("relu", {"threshold": 1.0}), ("relu", {"max_value": 2.5, "negative_slope": 0.2, "threshold": 0.5}),
    ("relu", {"max_value": 2.0, "threshold": -1.0}), ("relu6", {}), ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.05}), ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}), ("celu", {}),
    ("celu", {"alpha": 2.0}), ("gelu", {}), ("gelu", {"approximate": True}), ("silu", {}), ("swish", {}),
    ("softplus", {}), ("softsign", {}), ("sparse_plus", {}), ("squareplus", {}), ("squareplus", {"b": 2}),
    ("sigmoid", {}), ("hard_sigmoid", {}), ("sparse_sigmoid", {}), ("log_sigmoid", {}), ("hard_silu", {}),
    ("hard_swish", {}), ("mish", {}), ("exponential", {}), ("tanh", {}), ("hard_tanh", {}), ("tanh_shrink", {}),
    ("hard_shrink", {}), ("hard_shrink", {"threshold": 1.0}), ("soft_shrink", {}), ("soft_shrink", {"threshold": 1.0}),
    ("threshold", {"threshold": 0.5, "default_value": -2.0}), ("softmax", {}), ("softmax", {"axis": 0}),
    ("softmax", {"axis": (0, 1)}), ("log_softmax", {}), ("log_softmax", {"axis": 0}),
    ("log_softmax", {"axis": (0, 1)}),
]
NOT_PROVIDED = {"glu", "sparsemax"}


def _id(case):
    name, kwargs = case
    return "-".join([name] + [f"{k}={v}" for k, v in kwargs.items()])


@pytest.mark.parametrize("name,kwargs", CASES, ids=[_id(c) for c in CASES])
def test_values_and_gradients_match_keras(name, kwargs):
    ours, theirs = activations.get(name), keras.activations.get(name)
    np.testing.assert_allclose(np.asarray(ours(X, **kwargs)), np.asarray(theirs(X, **kwargs)), rtol=1e-5, atol=1e-6)
    weights = jnp.asarray(np.random.default_rng(1).normal(size=X.shape).astype("float32"))
    grad_ours = jax.grad(lambda x: jnp.sum(ours(x, **kwargs) * weights))(jnp.asarray(X))
    grad_theirs = jax.grad(lambda x: jnp.sum(theirs(x, **kwargs) * weights))(jnp.asarray(X))
    np.testing.assert_allclose(np.asarray(grad_ours), np.asarray(grad_theirs), rtol=1e-5, atol=1e-6)


def test_every_keras_activation_name_resolves_and_serializes():
    from keras.src.activations import ALL_OBJECTS_DICT

    names = set(ALL_OBJECTS_DICT) - NOT_PROVIDED
    assert names == {name for name, _ in CASES}
    for name in names:
        fn = activations.get(name)
        assert activations.get(activations.serialize(fn)) is fn
    assert activations.get(None) is activations.linear
    with pytest.raises(ValueError, match="'nope'"):
        activations.get("nope")


def test_activations_trace_and_export_to_onnx_like_xla(tmp_path):
    names = sorted({name for name, _ in CASES} - {"threshold"})
    inputs = kgraph.Input(shape=X.shape[1:])
    model = kgraph.Model(inputs, [kgraph.layers.Activation(name)(inputs) for name in names])
    expected = model.predict(X, verbose=0)
    for name, out in zip(names, expected):
        np.testing.assert_allclose(out, np.asarray(keras.activations.get(name)(X)), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
    path = tmp_path / "activations.onnx"
    kgraph.export.export_onnx(model, path)
    served = kgraph.runtime.OnnxModel(path).predict(X)
    for name, a, b in zip(names, served, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)
