"""Array ops (take, slice, pad, tile, repeat, einsum, broadcast_to, stack, split, cumsum, indexing):
eager (JAX rule) vs traced and lowered vs jitted vs NumPy, then each ONNX rule in ONNX Runtime vs XLA per opset."""

import jax
import numpy as np
import onnxruntime as ort
import pytest

from kgraph import ops
from kgraph.export import check_onnx
from kgraph.ir import ShapeError, TensorType, all_ops
from kgraph.lowering.jax import lower_to_jax
from kgraph.lowering.onnx import has_rule, lower_to_onnx
from kgraph.tracing import Trace

rng = np.random.default_rng(0)
X = rng.normal(size=(2, 3, 4)).astype("float32")
M = rng.normal(size=(3, 4)).astype("float32")
W = rng.normal(size=(4, 5)).astype("float32")
I = rng.integers(-9, 9, size=(2, 3, 4)).astype("int32")
B = rng.random((2, 3, 4)) < 0.5
IDX = np.array([[2, 0], [1, -1]], "int32")
ALONG = rng.integers(0, 4, size=(2, 3, 2)).astype("int32")

# (id, function of kgraph.ops, inputs, NumPy reference); every input's first dim is the batch.
CASES = [
    ("take", lambda x: ops.take(x, IDX, axis=1), (X,), lambda x: np.take(x, IDX, axis=1)),
    ("take_flat", lambda x: ops.take(x, np.array([0, 5, 23])), (X,), lambda x: np.take(x, [0, 5, 23])),
    ("take_int8_indices", lambda x: ops.take(x, IDX.astype("int8"), axis=2), (X,), lambda x: np.take(x, IDX, axis=2)),
    ("take_tensor_indices", lambda x, i: ops.take(x, i, axis=0), (M, IDX[:, :1]),
     lambda x, i: np.take(x, i, axis=0)),
    ("take_along_axis", lambda x: ops.take_along_axis(x, ALONG, axis=2), (X,),
     lambda x: np.take_along_axis(x, ALONG, axis=2)),
    ("take_along_axis_broadcast", lambda x: ops.take_along_axis(x, ALONG[:, :, :1] % 3, axis=1), (X,),
     lambda x: np.take_along_axis(x, ALONG[:, :, :1] % 3, axis=1)),
    ("getitem", lambda x: ops.get_item(x, (slice(None), 1, slice(None, None, -2))), (X,), lambda x: x[:, 1, ::-2]),
    ("getitem_ellipsis", lambda x: ops.get_item(x, (None, Ellipsis, -1, None)), (X,), lambda x: x[None, ..., -1, None]),
    ("getitem_bounds", lambda x: ops.get_item(x, (slice(None), slice(2, 0, -1), slice(-3, None))), (X,),
     lambda x: x[:, 2:0:-1, -3:]),
    ("getitem_batch", lambda x: ops.get_item(x, slice(1, None)), (X,), lambda x: x[1:]),
    ("slice", lambda x: ops.slice(x, (0, 1, 1), (-1, 2, 2)), (X,), lambda x: x[:, 1:3, 1:3]),
    ("strided_slice", lambda x: ops.strided_slice(x, [0, 0], [None, 3], [1, 2]), (X,), lambda x: x[:, 0:3:2]),
    ("pad", lambda x: ops.pad(x, ((0, 0), (1, 2), (0, 1)), constant_values=2.5), (X,),
     lambda x: np.pad(x, ((0, 0), (1, 2), (0, 1)), constant_values=2.5)),
    ("pad_int", lambda x: ops.pad(x, 1), (I,), lambda x: np.pad(x, 1)),
    ("pad_reflect", lambda x: ops.pad(x, ((0, 0), (1, 2), (2, 1)), mode="reflect"), (X,),
     lambda x: np.pad(x, ((0, 0), (1, 2), (2, 1)), mode="reflect")),
    ("pad_edge", lambda x: ops.pad(x, ((0, 0), (2, 0), (1, 3)), mode="edge"), (X,),
     lambda x: np.pad(x, ((0, 0), (2, 0), (1, 3)), mode="edge")),
    ("tile", lambda x: ops.tile(x, (2, 1)), (X,), lambda x: np.tile(x, (2, 1))),
    ("tile_longer", lambda x: ops.tile(x, (2, 1, 1, 3)), (X,), lambda x: np.tile(x, (2, 1, 1, 3))),
    ("repeat", lambda x: ops.repeat(x, 3, axis=1), (X,), lambda x: np.repeat(x, 3, axis=1)),
    ("repeat_batch", lambda x: ops.repeat(x, 2, axis=0), (X,), lambda x: np.repeat(x, 2, axis=0)),
    ("repeat_counts", lambda x: ops.repeat(x, [1, 0, 2], axis=1), (X,), lambda x: np.repeat(x, [1, 0, 2], axis=1)),
    ("repeat_flat", lambda x: ops.repeat(x, 2), (X,), lambda x: np.repeat(x, 2)),
    ("einsum", lambda x: ops.einsum("bij,bkj->bik", x, x), (X,), lambda x: np.einsum("bij,bkj->bik", x, x)),
    ("einsum_weights", lambda x: ops.einsum("bij,jk->bik", x, W), (X,), lambda x: np.einsum("bij,jk->bik", x, W)),
    ("einsum_ellipsis", lambda x: ops.einsum("...j,kj", x, M), (X,), lambda x: np.einsum("...j,kj", x, M)),
    ("einsum_int", lambda x: ops.einsum("bij,bij->b", x, x), (I,), lambda x: np.einsum("bij,bij->b", x, x)),
    ("broadcast_to", lambda x: ops.broadcast_to(x[:, :1], (2, 5, 4)), (X,),
     lambda x: np.broadcast_to(x[:, :1], (2, 5, 4))),
    ("broadcast_to_keep_batch", lambda x: ops.broadcast_to(x[:, None], (None, 3, 3, 4)), (X,),
     lambda x: np.broadcast_to(x[:, None], (2, 3, 3, 4))),
    ("broadcast_to_bool", lambda x: ops.broadcast_to(x[:, :, :1], (None, 3, 4)), (B,),
     lambda x: np.broadcast_to(x[:, :, :1], (2, 3, 4))),
    ("stack", lambda x, y: ops.stack([x, y], axis=1), (X, X * 2), lambda x, y: np.stack([x, y], axis=1)),
    ("split", lambda x: ops.split(x, [1, 3], axis=2)[1], (X,), lambda x: np.split(x, [1, 3], axis=2)[1]),
    ("split_sections", lambda x: ops.split(x, 2, axis=-1)[0], (I,), lambda x: np.split(x, 2, axis=-1)[0]),
    ("cumsum", lambda x: ops.cumsum(x, axis=1), (X,), lambda x: np.cumsum(x, axis=1)),
    ("cumsum_flat", ops.cumsum, (X,), lambda x: np.cumsum(x)),
    ("cumsum_int", lambda x: ops.cumsum(x, axis=-1), (I,), lambda x: np.cumsum(x, axis=-1)),
]
ARRAY_OPS = {name for name, op in all_ops().items() if op.family == "array"}
OPSETS = (13, 21)


def _trace(fn, inputs):
    with Trace("case") as t:
        symbols = [t.input(TensorType(str(a.dtype), ("batch",) + a.shape[1:]), f"in{i}") for i, a in enumerate(inputs)]
        out = fn(*symbols)
        t.graph.outputs = [out.ir_value]
    t.graph.verify()
    return t.graph


@pytest.mark.parametrize("name,fn,inputs,reference", CASES, ids=[c[0] for c in CASES])
def test_op_parity(name, fn, inputs, reference):
    expected = reference(*inputs)
    graph = _trace(fn, inputs)
    traced = np.asarray(lower_to_jax(graph)({}, list(inputs))[0][0])
    for got in (np.asarray(fn(*inputs)), traced, np.asarray(jax.jit(fn)(*inputs))):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    declared = graph.outputs[0].type.keras_shape()
    assert len(declared) == expected.ndim and all(d in (None, e) for d, e in zip(declared, expected.shape))


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn,inputs,reference", CASES, ids=[c[0] for c in CASES])
def test_onnx_rule_parity(name, fn, inputs, reference, opset):
    graph = _trace(fn, inputs)
    expected = np.asarray(lower_to_jax(graph)({}, list(inputs))[0][0])
    model = lower_to_onnx(graph, {}, opset=opset)
    check_onnx(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {f"in{i}": a for i, a in enumerate(inputs)})[0]
    assert str(got.dtype) == graph.outputs[0].type.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "uint8", "int16", "int64", "bool"])
def test_onnx_rules_take_every_dtype(dtype):
    x = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    numeric = dtype != "bool"
    for fn in (lambda v: ops.take(v, IDX, axis=1), lambda v: ops.pad(v, ((0, 0), (1, 0), (0, 1)), mode="edge"),
               lambda v: ops.pad(v, 1), lambda v: ops.tile(v, (1, 2, 1)), lambda v: ops.repeat(v, 2, axis=2),
               lambda v: ops.split(v, 2, axis=2)[1], lambda v: v[:, 1:, ::-1],
               *([lambda v: ops.einsum("bij,bkj->bik", v, v), lambda v: ops.cumsum(v, axis=1)] if numeric else [])):
        graph = _trace(fn, (x,))
        expected = np.asarray(lower_to_jax(graph)({}, [x])[0][0])
        session = ort.InferenceSession(lower_to_onnx(graph, {}).SerializeToString(), providers=["CPUExecutionProvider"])
        got = session.run(None, {"in0": x})[0]
        assert str(got.dtype) == graph.outputs[0].type.dtype
        np.testing.assert_array_equal(got, expected.astype(got.dtype))


def test_every_array_op_has_a_rule_and_a_case():
    covered = {n.op for _, fn, inputs, _ in CASES for n in _trace(fn, inputs).nodes}
    assert ARRAY_OPS <= covered, sorted(ARRAY_OPS - covered)
    assert all(has_rule(op) for op in ARRAY_OPS)


def test_indexing_syntax_on_symbolic_and_functional_tensors():
    import kgraph

    graph = _trace(lambda x: x[:, -1, 1:3], (X,))
    np.testing.assert_allclose(lower_to_jax(graph)({}, [X])[0][0], X[:, -1, 1:3])
    inputs = kgraph.Input(shape=(3, 4))
    model = kgraph.Model(inputs, inputs[:, ::2, None, 0])
    assert model.outputs[0].shape == (None, 2, 1)
    np.testing.assert_allclose(model.predict(X, verbose=0), X[:, ::2, None, 0])
    with pytest.raises(TypeError, match="(?i)iterat"):
        list(inputs)


def test_symbolic_dims_get_derived_names_and_repeat_reshapes_at_run_time():
    graph = _trace(lambda x: ops.repeat(ops.pad(x[1:], ((0, 0), (0, 0), (1, 1))), 2, axis=0), (X,))
    assert graph.outputs[0].type.shape == ("batch[1:]*2", 3, 6)
    with Trace("two_unknown") as t:
        x = t.input(TensorType("float32", ("batch", "steps", 4)), "in0")
        t.graph.outputs = [ops.repeat(x, 2, axis=0).ir_value]
    model = lower_to_onnx(t.graph, {})
    assert "Shape" in {n.op_type for n in model.graph.node}
    steps = rng.normal(size=(5, 7, 4)).astype("float32")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(session.run(None, {"in0": steps})[0], np.repeat(steps, 2, axis=0))


def test_gradients_flow_through_the_lowered_graph():
    import jax.numpy as jnp

    def ours(x):
        padded = ops.pad(x[:, 1:], ((0, 0), (1, 1), (0, 0)), mode="reflect")
        return ops.sum(ops.einsum("bij,jk->bik", padded, W)) + ops.sum(ops.square(ops.take(x, IDX, axis=1))) + \
            ops.sum(ops.cumsum(ops.repeat(x, 2, axis=2), axis=1) * ops.tile(x[:, :1], (1, 1, 2)))

    def reference(x):
        padded = jnp.pad(x[:, 1:], ((0, 0), (1, 1), (0, 0)), mode="reflect")
        return jnp.sum(jnp.einsum("bij,jk->bik", padded, W)) + jnp.sum(jnp.square(jnp.take(x, IDX, axis=1))) + \
            jnp.sum(jnp.cumsum(jnp.repeat(x, 2, axis=2), axis=1) * jnp.tile(x[:, :1], (1, 1, 2)))

    fn = lower_to_jax(_trace(ours, (X,)))
    grad = jax.grad(lambda x: fn({}, [x])[0][0])(X)
    np.testing.assert_allclose(grad, jax.grad(reference)(X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fn,error,match", [
    (lambda x: ops.get_item(x, (0, 0, 0, 0)), IndexError, "does not fit"),
    (lambda x: ops.get_item(x, (slice(None), 3)), IndexError, "out of bounds"),
    (lambda x: ops.get_item(x, np.array([0, 1])), TypeError, "ops.take"),
    (lambda x: ops.pad(x, 1, mode="wrap"), ValueError, "mode"),
    (lambda x: ops.pad(x, ((0, 0), (3, 0), (0, 0)), mode="reflect"), ShapeError, "reflect"),
    (lambda x: ops.einsum("ij,jk->ik", x, W), ShapeError, "does not fit"),
    (lambda x: ops.einsum("bij,jk->bix", x, W), ShapeError, "output names"),
    (lambda x: ops.einsum("bij,jk->bik", x, M), ShapeError, "sizes 4 and 3"),
    (lambda x: ops.broadcast_to(x, (2, 5, 4)), ValueError, "cannot broadcast"),
    (lambda x: ops.split(x, 3, axis=2), ValueError, "equal sections"),
    (lambda x: ops.repeat(x, [1, 2], axis=1), ValueError, "counts"),
    (lambda x: ops.take_along_axis(x, ALONG[:, :2], axis=2), ValueError, "broadcast"),
    (lambda x: ops.slice(x, (0, 1), (1, 1)), ValueError, "one entry per axis"),
])
def test_bad_arguments_raise_naming_the_problem(fn, error, match):
    with pytest.raises(error, match=match):
        _trace(fn, (X,))
