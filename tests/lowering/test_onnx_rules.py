"""Every op's ONNX rule gives the numbers of its JAX rule: one-op graphs run in ONNX Runtime vs XLA, per opset."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from kgraph import ops
from kgraph.export import check_onnx
from kgraph.ir import TensorType, all_ops
from kgraph.lowering.jax import lower_to_jax
from kgraph.lowering.onnx import has_rule, lower_to_onnx
from kgraph.tracing import Trace

rng = np.random.default_rng(0)
A = rng.normal(size=(3, 4)).astype("float32")
B = rng.normal(size=(3, 4)).astype("float32")
P = np.abs(A) + 0.1
M = rng.normal(size=(4, 5)).astype("float32")
T = rng.normal(size=(2, 3, 4)).astype("float32")
D = rng.normal(size=(3, 4))  # float64
IA = rng.integers(-7, 8, size=(3, 4)).astype("int32")
IB = rng.integers(1, 5, size=(3, 4)).astype("int32") * np.where(rng.random((3, 4)) < 0.5, -1, 1).astype("int32")
L = rng.integers(-7, 8, size=(3, 4)).astype("int64")
U = rng.integers(0, 9, size=(3, 4)).astype("uint8")
S = rng.integers(-9, 9, size=(3, 4)).astype("int8")
K = rng.integers(-1, 6, size=(6,)).astype("int32")
EXTREME = np.array([[-1e4, -50.0, -1e-7, 0.0], [1e-7, 3e-4, 50.0, 1e4]], "float32")
EDGES = np.array([[7.0, -7.0, 7.5, -7.5], [0.3, -0.3, 6.0, -6.0]], "float32")
INFINITIES = np.array([[-np.inf] * 3, [np.inf, 1, 2]], "float32")
DIVISORS = np.array([[2.0, 2.0, -2.5, 2.5], [-0.1, 0.1, 3.0, -3.0]], "float32")

# (id, function of kgraph.ops, inputs)
CASES = [
    ("add", ops.add, (A, B)), ("add_int32", ops.add, (IA, IB)), ("add_int64", ops.add, (L, L)),
    ("add_uint8", ops.add, (U, U)), ("subtract_uint8_wraps", ops.subtract, (U, U + 3)),
    ("multiply_int8", ops.multiply, (S, S)), ("maximum_int8", ops.maximum, (S, -S)),
    ("negative_int8", ops.negative, (S,)), ("negative_uint8", ops.negative, (U,)), ("square_uint8", ops.square, (U,)),
    ("abs_int8", ops.abs, (S,)), ("sum_int8", lambda x: ops.sum(x, axis=1), (S,)),
    ("less_uint8", ops.less, (U, U[::-1])), ("add_float64", ops.add, (D, D)),
    ("subtract", ops.subtract, (A, B)), ("multiply", ops.multiply, (A, B)), ("multiply_int32", ops.multiply, (IA, IB)),
    ("divide", ops.divide, (A, P)), ("power", ops.power, (P, B)), ("maximum", ops.maximum, (A, B)),
    ("maximum_int32", ops.maximum, (IA, IB)), ("minimum", ops.minimum, (A, B)),
    ("floor_divide", ops.floor_divide, (A, P)), ("floor_divide_signs", ops.floor_divide, (EDGES, DIVISORS)),
    ("floor_divide_int32", ops.floor_divide, (IA, IB)), ("floor_divide_uint8", ops.floor_divide, (U, U + 1)),
    ("mod", ops.mod, (A, P)), ("mod_signs", ops.mod, (EDGES, DIVISORS)), ("mod_int32", ops.mod, (IA, IB)),
    ("mod_int64", ops.mod, (L, L * 0 + 3)),
    ("equal", ops.equal, (A, A)), ("equal_int32", ops.equal, (IA, IB)), ("not_equal", ops.not_equal, (A, B)),
    ("less", ops.less, (A, B)), ("less_equal", ops.less_equal, (A, B)), ("greater", ops.greater, (A, B)),
    ("greater_equal", ops.greater_equal, (IA, IB)),
    ("logical_and", ops.logical_and, (A > 0, B > 0)), ("logical_or", ops.logical_or, (A > 0, B > 0)),
    ("logical_not", ops.logical_not, (A > 0,)),
    ("negative", ops.negative, (A,)), ("negative_int32", ops.negative, (IA,)), ("abs", ops.abs, (A,)),
    ("abs_int32", ops.abs, (IA,)), ("exp", ops.exp, (A,)), ("log", ops.log, (P,)), ("sqrt", ops.sqrt, (P,)),
    ("rsqrt", ops.rsqrt, (P,)), ("square", ops.square, (A,)), ("square_int32", ops.square, (IA,)),
    ("tanh", ops.tanh, (A,)), ("sigmoid", ops.sigmoid, (EXTREME,)), ("relu", ops.relu, (A,)),
    ("relu_int32", ops.relu, (IA,)), ("silu", ops.silu, (A,)), ("softplus", ops.softplus, (A,)),
    ("softplus_extreme", ops.softplus, (EXTREME,)), ("softsign", ops.softsign, (A,)), ("sign", ops.sign, (A,)),
    ("sign_int32", ops.sign, (IA,)), ("floor", ops.floor, (A,)), ("ceil", ops.ceil, (A,)),
    ("round", ops.round, (EDGES,)), ("floor_int32", ops.floor, (IA,)), ("reciprocal", ops.reciprocal, (P,)),
    ("erf", ops.erf, (A,)), ("log1p", ops.log1p, (P,)), ("log1p_extreme", ops.log1p, (np.abs(EXTREME),)),
    ("expm1", ops.expm1, (A,)), ("expm1_extreme", ops.expm1, (EXTREME / 100,)), ("sin", ops.sin, (A,)),
    ("cos", ops.cos, (A,)), ("stop_gradient", ops.stop_gradient, (A,)),
    ("gelu", lambda x: ops.gelu(x, approximate=False), (A,)),
    ("gelu_tanh", lambda x: ops.gelu(x, approximate=True), (A,)),
    ("where", ops.where, (A > 0, A, B)), ("where_int32", ops.where, (A > 0, IA, IB)),
    ("cast", lambda x: ops.cast(x, "int32"), (A * 3,)), ("cast_bool", lambda x: ops.cast(x, "float32"), (A > 0,)),
    ("cast_int64", lambda x: ops.cast(x, "int64"), (IA,)),
    ("clip", lambda x: ops.clip(x, -0.5, 0.5), (A,)), ("clip_int32", lambda x: ops.clip(x, -2, 3), (IA,)),
    ("full_like", lambda x: ops.full_like(x, 2.5), (A,)),
    ("full_like_int", lambda x: ops.full_like(x, 3, "int32"), (A,)),
    ("full_like_bool", lambda x: ops.full_like(x, True, "bool"), (IA,)),
    ("constant", lambda x: ops.add(x, np.arange(4, dtype="float32")), (A,)),
    ("constant_scalar", lambda x: ops.add(ops.sum(x), 1.0), (A,)),
    ("identity", lambda x: x.trace.emit("identity", [x], {}), (A,)),
    ("matmul", ops.matmul, (A, M)), ("matmul_batched", ops.matmul, (T, M)),
    ("sum", lambda x: ops.sum(x, axis=1), (A,)), ("sum_all", ops.sum, (A,)),
    ("sum_int32", lambda x: ops.sum(x, axis=0), (IA,)),
    ("sum_keepdims", lambda x: ops.sum(x, axis=(0, 2), keepdims=True), (T,)),
    ("mean", lambda x: ops.mean(x, axis=0, keepdims=True), (A,)), ("mean_all", ops.mean, (T,)),
    ("max", ops.max, (A,)), ("max_axis", lambda x: ops.max(x, axis=-1), (T,)),
    ("min", lambda x: ops.min(x, axis=(0, 1)), (A,)), ("min_int32", lambda x: ops.min(x, axis=1), (IA,)),
    ("prod", lambda x: ops.prod(x, axis=-1), (A,)), ("prod_all", ops.prod, (P,)),
    ("logsumexp", lambda x: ops.logsumexp(x, axis=1), (A,)),
    ("logsumexp_keepdims", lambda x: ops.logsumexp(x, axis=(1, 2), keepdims=True), (T * 100,)),
    ("logsumexp_all", ops.logsumexp, (EXTREME,)),
    ("logsumexp_infinities", lambda x: ops.logsumexp(x, axis=1), (INFINITIES,)),
    ("argmax", lambda x: ops.argmax(x, axis=1), (A,)),
    ("argmax_keepdims", lambda x: ops.argmax(x, axis=0, keepdims=True), (A,)),
    ("argmax_all", ops.argmax, (T,)), ("argmin", lambda x: ops.argmin(x, axis=0), (A,)),
    ("argmin_int32", lambda x: ops.argmin(x, axis=-1, keepdims=True), (IA,)),
    ("softmax", ops.softmax, (A,)), ("softmax_axis0", lambda x: ops.softmax(x, axis=0), (A,)),
    ("softmax_axis1", lambda x: ops.softmax(x, axis=1), (T,)),
    ("log_softmax", ops.log_softmax, (A,)), ("log_softmax_axis1", lambda x: ops.log_softmax(x, axis=1), (T,)),
    ("one_hot", lambda x: ops.one_hot(x, 5), (K,)), ("one_hot_axis0", lambda x: ops.one_hot(x, 4, axis=0), (K,)),
    ("one_hot_int64", lambda x: ops.one_hot(x, 6, dtype="int32"), (K.astype("int64"),)),
    ("one_hot_uint8", lambda x: ops.one_hot(x, 6), (K.clip(0).astype("uint8"),)),
    ("reshape", lambda x: ops.reshape(x, (None, 2, 2)), (A,)),
    ("reshape_infer", lambda x: ops.reshape(x, (-1, 6)), (T,)),
    ("reshape_flatten", lambda x: ops.reshape(x, (None, -1)), (T,)),
    ("transpose", ops.transpose, (A,)), ("transpose_perm", lambda x: ops.transpose(x, (0, 2, 1)), (T,)),
    ("expand_dims", lambda x: ops.expand_dims(x, 1), (A,)),
    ("expand_dims_last", lambda x: ops.expand_dims(x, -1), (A,)),
    ("squeeze", lambda x: ops.squeeze(x, 1), (A[:, :1],)), ("squeeze_none", ops.squeeze, (T[:, :1, None],)),
    ("concatenate", lambda x, y: ops.concatenate([x, y], axis=1), (A, B)),
    ("concatenate_batch", lambda x, y: ops.concatenate([x, y], axis=0), (A, B)),
    ("concatenate_int32", lambda x, y: ops.concatenate([x, y], axis=-1), (IA, IB)),
]
OPSETS = (13, 17, 21)


def _trace(fn, inputs):
    with Trace("case") as t:
        symbols = [t.input(TensorType(str(a.dtype), ("batch",) + a.shape[1:]), f"in{i}") for i, a in enumerate(inputs)]
        out = fn(*symbols)
        t.graph.outputs = [out.ir_value]
    t.graph.verify()
    return t.graph


def _run_onnx(model: onnx.ModelProto, inputs) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {f"in{i}": a for i, a in enumerate(inputs)})[0]


def _node(model: onnx.ModelProto, op_type: str) -> onnx.NodeProto:
    (node,) = [n for n in model.graph.node if n.op_type == op_type]
    return node


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case_id,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_rule_parity(case_id, fn, inputs, opset):
    graph = _trace(fn, inputs)
    expected = np.asarray(lower_to_jax(graph)({}, list(inputs))[0][0])
    model = lower_to_onnx(graph, {}, opset=opset)
    check_onnx(model)
    got = _run_onnx(model, inputs)
    declared = graph.outputs[0].type
    assert str(got.dtype) == declared.dtype and got.shape == expected.shape, (got.dtype, got.shape, str(declared))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_every_inference_op_has_a_rule():
    inference_ops = [name for name, op in all_ops().items() if not op.random]
    assert [op for op in inference_ops if not has_rule(op)] == []
    assert not has_rule("dropout")


def test_every_core_family_op_has_a_parity_case():
    """Ops of the core families are covered here; each other family's test module covers its own."""
    covered = set()
    for _, fn, inputs in CASES:
        covered |= {n.op for n in _trace(fn, inputs).nodes}
    core = {name for name, op in all_ops().items()
            if not op.random and op.family in ("elementwise", "linalg", "reduction", "nn", "shape")}
    assert core <= covered, sorted(core - covered)


@pytest.mark.parametrize("opset,axes_as_input", [(13, False), (17, False), (18, True)])
def test_reduce_mean_axes_follow_the_opset(opset, axes_as_input):
    model = lower_to_onnx(_trace(lambda x: ops.mean(x, axis=1), (A,)), {}, opset=opset)
    node = _node(model, "ReduceMean")
    assert (len(node.input) == 2) == axes_as_input
    assert any(a.name == "axes" for a in node.attribute) != axes_as_input
    check_onnx(model)


def test_reduce_sum_squeeze_and_unsqueeze_take_axes_as_inputs_from_13():
    for fn, op_type in ((lambda x: ops.sum(x, axis=1), "ReduceSum"), (lambda x: ops.squeeze(x, 1), "Squeeze"),
                        (lambda x: ops.expand_dims(x, 0), "Unsqueeze")):
        node = _node(lower_to_onnx(_trace(fn, (A[:, :1],)), {}, opset=13), op_type)
        assert len(node.input) == 2 and not any(a.name == "axes" for a in node.attribute)


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_is_the_onnx_op_from_opset_20(approximate):
    graph = _trace(lambda x: ops.gelu(x, approximate=approximate), (A,))
    below_20 = {n.op_type for n in lower_to_onnx(graph, {}, opset=19).graph.node}
    assert ("Tanh" if approximate else "Erf") in below_20 and "Gelu" not in below_20
    node = _node(lower_to_onnx(graph, {}, opset=20), "Gelu")
    assert onnx.helper.get_attribute_value(node.attribute[0]) == (b"tanh" if approximate else b"none")


def test_one_hot_uses_onnx_one_hot_with_initializer_depth_and_values():
    model = lower_to_onnx(_trace(lambda x: ops.one_hot(x, 5), (K,)), {}, opset=17)
    node = _node(model, "OneHot")
    initializers = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    assert initializers[node.input[1]].shape == () and int(initializers[node.input[1]]) == 5
    assert initializers[node.input[2]].tolist() == [0.0, 1.0]


def test_clip_bounds_and_full_like_forms():
    clip = _node(lower_to_onnx(_trace(lambda x: ops.clip(x, -1.0, 2.0), (A,)), {}), "Clip")
    assert len(clip.input) == 3
    full = lower_to_onnx(_trace(lambda x: ops.full_like(x, 2.5), (A,)), {})
    assert [n.op_type for n in full.graph.node] == ["Shape", "ConstantOfShape"]


def test_mod_of_floats_is_floor_mod_not_fmod():
    graph = _trace(ops.mod, (EDGES, DIVISORS))
    got = _run_onnx(lower_to_onnx(graph, {}), (EDGES, DIVISORS))
    np.testing.assert_allclose(got, np.mod(EDGES, DIVISORS), rtol=1e-6)
    assert np.any(np.sign(np.fmod(EDGES, DIVISORS)) != np.sign(got))
