"""JaxLayer and FlaxLayer against Keras 3's: identical params and inputs give identical outputs, training steps and
state updates; the layer's call is one `jax_call` IR node, which ONNX export refuses by name."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import kgraph
from kgraph.layers import FlaxLayer, JaxLayer

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 4)).astype("float32")
Y = RNG.normal(size=(8, 3)).astype("float32")
PARAMS = {"w": RNG.normal(size=(4, 3)).astype("float32"), "b": np.zeros(3, "float32")}


def dense_call(params, inputs):
    return jnp.tanh(inputs @ params["w"] + params["b"])


def dense_init(rng, inputs):
    return {"w": jax.random.normal(rng, (inputs.shape[-1], 3)), "b": jnp.zeros((3,))}


def counting_call(params, state, inputs, training):
    """A stateful function: counts its training calls in `state`."""
    outputs = inputs @ params["w"]
    return outputs, {"calls": state["calls"] + (1.0 if training else 0.0)}


class MLP(nn.Module):
    features: int = 3

    @nn.compact
    def __call__(self, x, training=False):
        x = nn.Dense(5)(x)
        x = nn.BatchNorm(use_running_average=not training, momentum=0.5)(x)
        x = nn.relu(x)
        return nn.Dense(self.features)(x)


def _fit_both(make):
    models = []
    for module in (kgraph, keras):
        model = module.Sequential([module.Input((4,)), make(module)])
        model.compile(module.optimizers.SGD(0.1), loss="mse")
        models.append(model)
    ours, theirs = models
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    for model in models:
        model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for mine, ref in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    return ours, theirs


def test_jax_layer_trains_as_keras():
    ours, theirs = _fit_both(lambda module: module.layers.JaxLayer(dense_call, params=PARAMS, name="jax"))
    # Keras numbers unnamed variables across the session ("variable_224"); kgraph numbers them per layer.
    assert [w.path for w in ours.weights] == ["jax/variable", "jax/variable_1"]
    assert all(w.path.startswith("jax/variable") for w in theirs.weights)


def test_jax_layer_state_updates_as_keras():
    ours, theirs = _fit_both(lambda module: module.layers.JaxLayer(
        counting_call, params={"w": PARAMS["w"]}, state={"calls": np.zeros((), "float32")}))
    assert float(ours.layers[0].state["calls"].numpy()) == 4.0  # 2 epochs of 2 batches
    assert [w.trainable for w in ours.weights] == [w.trainable for w in theirs.weights]


def test_flax_layer_with_batch_statistics_trains_as_keras():
    variables = MLP().init(jax.random.PRNGKey(0), jnp.ones((1, 4)))
    ours, theirs = _fit_both(lambda module: module.layers.FlaxLayer(MLP(), variables=variables))
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]


def test_init_fn_builds_params_from_the_input_shape():
    layer = JaxLayer(dense_call, init_fn=dense_init, seed=3)
    assert layer(X).shape == (8, 3)
    assert sorted(tuple(w.shape) for w in layer.trainable_weights) == [(3,), (4, 3)]
    flax_layer = FlaxLayer(MLP(features=2))
    assert flax_layer(X).shape == (8, 2) and len(flax_layer.non_trainable_weights) == 2


def test_call_is_one_jax_call_node_and_onnx_refuses_it(tmp_path):
    model = kgraph.Sequential([kgraph.Input((4,)), JaxLayer(dense_call, params=PARAMS, name="opaque")])
    with pytest.raises(Exception, match="jax_call") as error:
        model.export(str(tmp_path / "model.onnx"), format="onnx")
    assert "JaxLayer" in str(error.value)


def test_config_round_trip():
    layer = JaxLayer(dense_call, init_fn=dense_init, name="j")
    again = JaxLayer.from_config(layer.get_config())
    assert again.call_fn is dense_call and again.init_fn is dense_init and again.name == "j"
    flax_layer = FlaxLayer(MLP(features=2), name="f")
    back = FlaxLayer.from_config(flax_layer.get_config())
    assert isinstance(back.module, MLP) and back.module.features == 2
    with pytest.raises(ValueError, match="importable"):
        JaxLayer(lambda inputs: inputs).get_config()


def test_bad_signatures_are_named():
    with pytest.raises(ValueError, match="Missing required argument in `call_fn`: `inputs`"):
        JaxLayer(lambda params, x: x, params=PARAMS)
    with pytest.raises(ValueError, match="Unsupported argument in `call_fn`: `extra`"):
        JaxLayer(lambda inputs, extra: inputs)
    with pytest.raises(ValueError, match="cannot all be `None`"):
        JaxLayer(dense_call)
