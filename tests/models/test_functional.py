"""Functional and Sequential models: construction, weights in Keras' order, eager calls, summary, errors."""

import io
import contextlib

import keras
import numpy as np
import pytest

import kgraph
from kgraph import layers, ops


def guide_mlp(lib):
    inputs = lib.Input(shape=(784,), name="digits")
    x = lib.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = lib.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = lib.layers.Dense(10, activation="softmax", name="predictions")(x)
    return lib.Model(inputs=inputs, outputs=outputs)


def test_guide_model_structure_matches_keras():
    ours, theirs = guide_mlp(kgraph), guide_mlp(keras)
    assert isinstance(ours, kgraph.models.Functional)
    assert [l.name for l in ours.layers] == [l.name for l in theirs.layers]
    assert [type(l).__name__ for l in ours.layers] == [type(l).__name__ for l in theirs.layers]
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    assert ours.count_params() == theirs.count_params() == 55050
    assert ours.output.shape == (None, 10)


def test_same_weights_give_keras_outputs():
    ours, theirs = guide_mlp(kgraph), guide_mlp(keras)
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_sequential_from_input_and_built_on_first_call():
    with_input = kgraph.Sequential([kgraph.Input(shape=(4,)), layers.Dense(3, name="a"), layers.Dense(2, name="b")])
    assert with_input.built and [l.name for l in with_input.layers] == ["a", "b"]
    lazy = kgraph.Sequential([layers.Dense(3), layers.Dense(2)])
    assert not lazy.built and lazy.weights == []
    out = lazy(np.ones((7, 4), "float32"))
    assert out.shape == (7, 2) and lazy.built
    assert [w.shape for w in lazy.weights] == [(4, 3), (3,), (3, 2), (2,)]
    added = kgraph.Sequential()
    added.add(kgraph.Input(shape=(5,)))
    added.add(layers.Dense(1))
    assert added.output.shape == (None, 1)


def test_ops_compose_on_keras_tensors():
    a = kgraph.Input(shape=(3,), name="a")
    b = kgraph.Input(shape=(3,), name="b")
    c = ops.concatenate([a, b * 2.0], axis=-1)
    out = layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")(c)
    model = kgraph.Model([a, b], out)
    xa, xb = np.ones((2, 3), "float32"), np.full((2, 3), 2.0, "float32")
    np.testing.assert_allclose(model.predict({"a": xa, "b": xb}, verbose=0), np.full((2, 1), 15.0))
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), np.full((2, 1), 15.0))


def test_feature_extraction_model_over_inner_tensors():
    model = guide_mlp(kgraph)
    extractor = kgraph.Model(inputs=model.inputs, outputs=[l.output for l in model.layers])
    features = extractor.predict(np.zeros((2, 784), "float32"), verbose=0)
    assert [f.shape for f in features] == [(2, 784), (2, 64), (2, 64), (2, 10)]


def test_trainable_is_recursive_and_partitions_weights():
    model = guide_mlp(kgraph)
    model.get_layer("dense_1").trainable = False
    assert len(model.trainable_weights) == 4 and len(model.non_trainable_weights) == 2
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 6


def test_summary_matches_keras_text():
    ours, theirs = guide_mlp(kgraph), guide_mlp(keras)
    ours_text = io.StringIO()
    ours.summary(print_fn=lambda s: ours_text.write(s + "\n"))
    theirs_text = io.StringIO()
    with contextlib.redirect_stdout(theirs_text):
        theirs.summary()
    strip = lambda s: [l.rstrip() for l in s.splitlines() if l.strip() and not l.startswith("Model:")]  # noqa: E731
    assert strip(ours_text.getvalue()) == strip(theirs_text.getvalue())


def test_errors_name_layers_and_shapes():
    with pytest.raises(ValueError, match="units"):
        layers.Dense(-3)
    with pytest.raises(ValueError, match="No such layer: 'nope'"):
        guide_mlp(kgraph).get_layer("nope")
    a = kgraph.Input(shape=(3,))
    with pytest.raises(ValueError, match=r"add.*\(None, 3\).*\(None, 4\)|\(None, 3\).*\(None, 4\)"):
        ops.add(a, kgraph.Input(shape=(4,)))
    model = guide_mlp(kgraph)
    with pytest.raises(ValueError, match=r"set_weights expected a list of 6 arrays, got 1"):
        model.set_weights([np.zeros(3)])
    with pytest.raises(ValueError, match=r"dense_1/kernel.*\(784, 64\).*\(3, 3\)"):
        model.set_weights([np.zeros((3, 3))] + model.get_weights()[1:])


def test_ir_of_a_model_prints_with_layer_names():
    from kgraph.program import input_specs_from_model, trace_model

    model = guide_mlp(kgraph)
    program = trace_model(model, input_specs_from_model(model), training=False)
    text = str(program.graph)
    assert "%digits: float32[batch, 784]" in text
    assert "# dense_1" in text and "# predictions" in text
    assert program.graph.op_counts() == {"add": 3, "matmul": 3, "relu": 2, "softmax": 1}
