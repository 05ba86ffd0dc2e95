"""get_config/from_config of Functional and Sequential models, in Keras 3's format."""

import json

import numpy as np
import pytest

import kgraph

rng = np.random.default_rng(0)


def rebuilt(model, **kwargs):
    """The model rebuilt from its JSON-ed config, with the original's weights copied in."""
    config = json.loads(json.dumps(model.get_config()))
    clone = type(model).from_config(config, **kwargs)
    clone.set_weights(model.get_weights())
    return clone


def assert_same_predictions(a, b, x):
    pa, pb = a.predict(x, verbose=0), b.predict(x, verbose=0)
    flat_a = pa if isinstance(pa, (list, dict)) else [pa]
    flat_b = pb if isinstance(pb, (list, dict)) else [pb]
    if isinstance(pa, dict):
        assert set(pa) == set(pb)
        flat_a, flat_b = [pa[k] for k in sorted(pa)], [pb[k] for k in sorted(pb)]
    for u, v in zip(flat_a, flat_b):
        np.testing.assert_array_equal(u, v)


def test_functional_config_is_keras_shaped():
    inputs = kgraph.Input((4,), name="x")
    outputs = kgraph.layers.Dense(3, name="out")(kgraph.layers.Dense(8, activation="relu", name="hidden")(inputs))
    model = kgraph.Model(inputs, outputs, name="mlp")
    config = model.get_config()
    assert [l["name"] for l in config["layers"]] == ["x", "hidden", "out"]
    assert config["input_layers"] == ["x", 0, 0] and config["output_layers"] == ["out", 0, 0]
    hidden = config["layers"][1]
    assert hidden["module"] == "keras.layers" and hidden["class_name"] == "Dense"
    history = hidden["inbound_nodes"][0]["args"][0]
    assert history["class_name"] == "__keras_tensor__" and history["config"]["keras_history"] == ["x", 0, 0]
    assert config["layers"][0]["inbound_nodes"] == []


def test_multi_input_multi_output_with_dict_inputs():
    a, b = kgraph.Input((4,), name="a"), kgraph.Input((3,), name="b")
    merged = kgraph.layers.Concatenate()([kgraph.layers.Dense(5)(a), b])
    outputs = {"score": kgraph.layers.Dense(1, name="score")(merged),
               "label": kgraph.layers.Dense(3, activation="softmax", name="label")(merged)}
    model = kgraph.Model({"a": a, "b": b}, outputs)
    config = model.get_config()
    assert config["input_layers"] == {"a": ["a", 0, 0], "b": ["b", 0, 0]}
    assert config["output_layers"] == {"score": ["score", 0, 0], "label": ["label", 0, 0]}
    clone = rebuilt(model)
    x = {"a": rng.random((6, 4), dtype=np.float32), "b": rng.random((6, 3), dtype=np.float32)}
    assert_same_predictions(model, clone, x)
    assert clone.input_names == model.input_names and sorted(clone.output) == ["label", "score"]


def test_list_inputs_and_outputs_keep_their_structure():
    a, b = kgraph.Input((2,), name="p"), kgraph.Input((2,), name="q")
    model = kgraph.Model([a, b], [kgraph.layers.Add()([a, b]), kgraph.layers.Subtract()([a, b])])
    config = model.get_config()
    assert config["input_layers"] == [["p", 0, 0], ["q", 0, 0]]
    clone = rebuilt(model)
    x = [rng.random((3, 2), dtype=np.float32), rng.random((3, 2), dtype=np.float32)]
    assert_same_predictions(model, clone, x)


def test_shared_layer_nodes_are_reindexed_per_model():
    shared = kgraph.layers.Dense(4, name="shared")
    a, b = kgraph.Input((4,), name="a"), kgraph.Input((4,), name="b")
    kgraph.Model(b, shared(b))  # a call belonging to another model
    y = shared(shared(a))
    model = kgraph.Model(a, y)
    config = model.get_config()
    entry = next(l for l in config["layers"] if l["name"] == "shared")
    assert len(entry["inbound_nodes"]) == 2
    assert entry["inbound_nodes"][1]["args"][0]["config"]["keras_history"] == ["shared", 0, 0]
    assert config["output_layers"] == ["shared", 1, 0]
    clone = rebuilt(model)
    assert len(clone.layers) == 2
    assert_same_predictions(model, clone, rng.random((3, 4), dtype=np.float32))


def test_nested_models_offset_their_output_node_like_keras():
    inner_in = kgraph.Input((4,), name="inner_in")
    inner = kgraph.Model(inner_in, kgraph.layers.Dense(2, name="inner_dense")(inner_in), name="inner")
    seq = kgraph.Sequential([kgraph.Input((4,)), kgraph.layers.Dense(2, name="seq_dense")], name="seq")
    x = kgraph.Input((4,), name="x")
    model = kgraph.Model(x, [inner(x), seq(x)], name="outer")
    config = model.get_config()
    assert config["output_layers"] == [["inner", 1, 0], ["seq", 0, 0]]
    inner_entry = next(l for l in config["layers"] if l["name"] == "inner")
    assert inner_entry["class_name"] == "Functional" and inner_entry["module"] == "keras.src.models.functional"
    assert next(l for l in config["layers"] if l["name"] == "seq")["class_name"] == "Sequential"
    clone = rebuilt(model)
    assert_same_predictions(model, clone, rng.random((3, 4), dtype=np.float32))
    after = kgraph.layers.Dense(1, name="after")(inner(x))
    chained = kgraph.Model(x, after)
    assert_same_predictions(chained, rebuilt(chained), rng.random((3, 4), dtype=np.float32))


def test_ops_on_keras_tensors_serialize_as_keras_ops():
    x = kgraph.Input((3,), name="x")
    y = kgraph.ops.add(kgraph.layers.Dense(3)(x), 1.0)
    z = kgraph.ops.mean(y * x, axis=-1, keepdims=True)
    model = kgraph.Model(x, kgraph.ops.softmax(kgraph.ops.concatenate([z, y], axis=-1)))
    classes = [(l["module"], l["class_name"]) for l in model.get_config()["layers"]]
    assert ("keras.src.ops.numpy", "Add") in classes and ("keras.src.ops.numpy", "Multiply") in classes
    assert ("keras.src.ops.numpy", "Mean") in classes and ("keras.src.ops.nn", "Softmax") in classes
    assert_same_predictions(model, rebuilt(model), rng.random((4, 3), dtype=np.float32))


def test_ops_without_a_keras_equivalent_fall_back_to_a_kgraph_op_layer():
    x = kgraph.Input((3,), name="x")
    model = kgraph.Model(x, kgraph.ops.stop_gradient(x) * 2.0)
    config = model.get_config()
    entry = next(l for l in config["layers"] if l["class_name"] == "OpLayer")
    assert entry["registered_name"] == "kgraph>OpLayer"
    assert_same_predictions(model, rebuilt(model), rng.random((4, 3), dtype=np.float32))


def test_sequential_with_input():
    model = kgraph.Sequential([kgraph.Input((5,)), kgraph.layers.Dense(4, activation="tanh"), kgraph.layers.Dense(2)])
    config = model.get_config()
    assert [l["class_name"] for l in config["layers"]] == ["InputLayer", "Dense", "Dense"]
    assert config["build_input_shape"] == [None, 5]
    clone = rebuilt(model)
    assert isinstance(clone, kgraph.Sequential) and len(clone.layers) == 2
    assert_same_predictions(model, clone, rng.random((3, 5), dtype=np.float32))


def test_sequential_built_without_input_and_unbuilt():
    built = kgraph.Sequential([kgraph.layers.Dense(4), kgraph.layers.Dense(1)])
    built.build((None, 3))
    clone = rebuilt(built)
    assert clone.built
    assert_same_predictions(built, clone, rng.random((2, 3), dtype=np.float32))
    unbuilt = kgraph.Sequential([kgraph.layers.Dense(4, name="only")])
    config = unbuilt.get_config()
    assert "build_input_shape" not in config and [l["class_name"] for l in config["layers"]] == ["Dense"]
    again = kgraph.Sequential.from_config(config)
    assert not again.built and again.layers[0].name == "only"


def test_model_from_config_dispatches_to_functional():
    x = kgraph.Input((2,))
    model = kgraph.Model(x, kgraph.layers.Dense(1)(x))
    clone = kgraph.Model.from_config(model.get_config())
    assert type(clone).__name__ == "Functional"


def test_trainable_flags_survive():
    x = kgraph.Input((2,))
    frozen = kgraph.layers.Dense(2, trainable=False, name="frozen")
    model = kgraph.Model(x, kgraph.layers.Dense(1)(frozen(x)))
    clone = rebuilt(model)
    assert clone.get_layer("frozen").trainable is False
    assert len(clone.trainable_weights) == 2 and len(clone.non_trainable_weights) == 2


def test_registered_custom_layer_in_a_model_and_custom_objects():
    class Doubler(kgraph.layers.Layer):
        def call(self, x):
            return x * 2.0

    x = kgraph.Input((3,))
    model = kgraph.Model(x, Doubler(name="doubler")(x))
    config = json.loads(json.dumps(model.get_config()))
    with pytest.raises(ValueError, match="Doubler"):
        kgraph.Model.from_config(config)
    clone = kgraph.Model.from_config(config, custom_objects={"Doubler": Doubler})
    assert_same_predictions(model, clone, rng.random((2, 3), dtype=np.float32))


def test_broken_graph_config_is_a_clear_error():
    x = kgraph.Input((2,), name="x")
    config = kgraph.Model(x, kgraph.layers.Dense(1, name="d")(x)).get_config()
    config["layers"][1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["missing", 0, 0]
    with pytest.raises(ValueError, match="unknown layer 'missing'"):
        kgraph.Model.from_config(config)
