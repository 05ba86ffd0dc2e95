"""clone_model and layers.serialize/deserialize: the same architecture and configs, new weights."""

import keras
import numpy as np
import pytest

import kgraph
from kgraph.models import clone_model


def _functional():
    inputs = kgraph.Input((4,), name="x")
    hidden = kgraph.layers.Dense(3, activation="relu", name="hidden")(inputs)
    joined = kgraph.layers.Concatenate(name="join")([hidden, inputs])
    return kgraph.Model(inputs, kgraph.layers.Dense(2, name="out")(joined), name="net")


@pytest.mark.parametrize("make", [
    _functional,
    lambda: kgraph.Sequential([kgraph.Input((4,)), kgraph.layers.Dense(3, name="a"), kgraph.layers.Dense(2, name="b")],
                              name="seq"),
], ids=["functional", "sequential"])
def test_clone_has_same_architecture_and_new_weights(make):
    model = make()
    clone = clone_model(model)
    assert type(clone) is type(model) and clone.name == model.name
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    assert [l.get_config() for l in clone.layers] == [l.get_config() for l in model.layers]
    assert all(a is not b for a, b in zip(clone.weights, model.weights))
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_clone_function_input_tensors_and_call_function():
    model = _functional()
    wider = clone_model(model, clone_function=lambda layer: kgraph.layers.Dense(5, name=layer.name)
                        if layer.name == "hidden" else layer.__class__.from_config(layer.get_config()))
    assert wider.get_layer("hidden").units == 5
    new_input = kgraph.Input((4,), name="x", batch_size=8)
    assert clone_model(model, input_tensors=new_input).inputs[0] is new_input
    calls = []
    clone_model(model, call_function=lambda layer, *a, **k: calls.append(layer.name) or layer(*a, **k))
    assert calls == ["hidden", "join", "out"]
    with pytest.raises(ValueError, match="input_tensors"):
        clone_model(model, input_tensors=[new_input, new_input])


def test_layers_serialize_round_trips_with_keras():
    layer = kgraph.layers.Dense(3, activation="relu", kernel_constraint="max_norm", name="d")
    config = kgraph.layers.serialize(layer)
    theirs = keras.layers.deserialize(config)
    assert type(theirs).__name__ == "Dense" and theirs.units == 3
    again = kgraph.layers.deserialize(config)
    assert again.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="Unknown layer class 'Densse'"):
        kgraph.layers.deserialize({"class_name": "Densse", "config": {}})


def test_activations_deserialize_and_new_activations():
    from kgraph import activations

    assert activations.deserialize({"class_name": "function", "config": "relu"}) is activations.relu
    assert activations.deserialize(keras.activations.serialize(keras.activations.gelu)) is activations.gelu
    x = np.random.default_rng(1).normal(size=(3, 6)).astype("float32")
    np.testing.assert_allclose(activations.glu(x), keras.activations.glu(x), rtol=1e-6)
    out = np.asarray(activations.sparsemax(x))
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-6)
    assert (out >= 0).all() and (out == 0).any()
