"""`ops.shape(x)[0]` inside a traced `call`: a SymbolicDim that sizes creation, random, reshape, tile,
broadcast_to and arange per batch. Differential against Keras 3 (JAX backend, same weights), and exported to ONNX
with a dynamic batch, checked in ONNX Runtime against XLA."""

import keras
import numpy as np
import onnx
import pytest

import kgraph
from kgraph.export import export_onnx, to_onnx
from kgraph.runtime.onnx import OnnxModel
from kgraph.tracing import SymbolicDim


def _padded_model(lib):
    """A deterministic layer built on the batch dim: zeros, ones, full, reshape, tile, broadcast_to, arange."""

    class PadAndCount(lib.layers.Layer):
        def call(self, x):
            ops = lib.ops
            batch = ops.shape(x)[0]
            flat = ops.reshape(x, (batch, -1))
            pad = ops.zeros((batch, 3)) + ops.ones((batch, 1)) * 0.5 + ops.full((batch, 3), 2.0)
            rows = ops.cast(ops.arange(batch)[:, None], "float32") / ops.cast(batch, "float32")
            bias = ops.tile(ops.ones((1, 2)), (batch, 1)) + ops.broadcast_to(ops.arange(2, dtype="float32"), (batch, 2))
            pairs = ops.reshape(flat, (batch * 2, -1))
            return ops.concatenate([flat, pad, rows, bias], axis=-1), pairs

    inputs = lib.Input((3, 4))
    hidden = lib.layers.Dense(4, activation="tanh")(inputs)
    outputs = PadAndCount()(hidden)
    return lib.Model(inputs, [lib.layers.Dense(5)(outputs[0]), outputs[1]])


@pytest.fixture(scope="module")
def models():
    ours, theirs = _padded_model(kgraph), _padded_model(keras)
    ours.set_weights(theirs.get_weights())
    return ours, theirs


@pytest.mark.parametrize("batch", [2, 5])
def test_layer_on_the_batch_dim_matches_keras_on_identical_weights(models, batch):
    ours, theirs = models
    x = np.random.default_rng(batch).normal(size=(batch, 3, 4)).astype("float32")
    want = [np.asarray(y) for y in theirs.predict(x, verbose=0)]
    for got in (ours.predict(x, verbose=0), ours(x)):
        assert [np.shape(g) for g in got] == [(batch, 5), (batch * 2, 6)]
        for g, w in zip(got, want):
            np.testing.assert_allclose(np.asarray(g), w, rtol=1e-5, atol=1e-5)


def test_onnx_export_keeps_the_batch_dynamic_and_matches_xla(models, tmp_path):
    ours, _ = models
    path = tmp_path / "padded.onnx"
    export_onnx(ours, path)
    proto = onnx.load(path)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert {"Shape", "Gather", "ConstantOfShape"} <= {n.op_type for n in proto.graph.node}
    session = OnnxModel(path, providers=["CPUExecutionProvider"])
    for batch in (3, 8):
        x = np.random.default_rng(batch).normal(size=(batch, 3, 4)).astype("float32")
        for g, w in zip(session.predict(x), ours.predict(x, verbose=0)):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_eager_shapes_stay_plain_ints_and_functional_ones_stay_none():
    assert kgraph.ops.shape(np.zeros((2, 3))) == (2, 3)
    assert all(type(d) is int for d in kgraph.ops.shape(kgraph.ops.zeros((2, 3))))
    assert kgraph.ops.shape(kgraph.Input((3,))) == (None, 3)


def _traced(fn):
    class Probe(kgraph.layers.Layer):
        def call(self, x):
            return fn(x, kgraph.ops.shape(x)[0])

    return Probe()(kgraph.Input((4,)))


def test_the_traced_dim_is_int_like_and_names_itself():
    seen = {}

    def probe(x, batch):
        seen["batch"], seen["double"] = batch, batch * 2 + 1
        return x

    _traced(probe)
    assert isinstance(seen["batch"], SymbolicDim) and repr(seen["batch"]) == "SymbolicDim(batch)"
    assert seen["double"].dim == "((batch*2)+1)" and seen["batch"] != seen["double"]
    with pytest.raises(TypeError, match="cannot be compared"):
        seen["batch"] > 1


@pytest.mark.parametrize("fn,error,match", [
    (lambda x, b: x + np.zeros((b, 4)), TypeError, "known only when the model runs"),
    (lambda x, b: x + kgraph.ops.eye(b), TypeError, "known only when the model runs"),
    (lambda x, b: kgraph.ops.reshape(x, (b * 2, b, -1)), ValueError, "reshape"),
    (lambda x, b: kgraph.ops.tile(x, (b, 1)), ValueError, "tile"),
    (lambda x, b: x + kgraph.random.beta((b, 4), 2.0, 3.0, seed=1), ValueError, "kgraph.random.beta"),
])
def test_uses_the_traced_dim_cannot_take_are_clear_errors(fn, error, match):
    with pytest.raises(error, match=match):
        _traced(fn)


def test_a_model_drawing_noise_in_call_is_refused_by_onnx_with_the_reason():
    class Noise(kgraph.layers.Layer):
        def __init__(self):
            super().__init__()
            self.seed_generator = kgraph.random.SeedGenerator(1)

        def call(self, x):
            return x + kgraph.random.normal((kgraph.ops.shape(x)[0], 4), seed=self.seed_generator)

    inputs = kgraph.Input((4,))
    with pytest.raises(Exception, match="draws random numbers"):
        to_onnx(kgraph.Model(inputs, Noise()(inputs)))
