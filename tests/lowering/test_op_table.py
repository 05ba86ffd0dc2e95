"""The op table: one row per op (or per case of one), each run through its JAX rule (XLA) and its ONNX rule (ONNX
Runtime) at several opsets, and the declarations it rests on: every registered op has a JAX rule and either an
ONNX rule or ONNX's refusal, and every op with an ONNX rule has a row here.

A row is `(id, fn, inputs)`: `fn` takes kgraph tensors and returns one, built with `kgraph.ops` (or, for ops only
passes form, `x.trace.emit(op, inputs, attrs)`); each NumPy array of `inputs` becomes a graph input whose first dim
is the symbolic batch, each `Const(array)` a constant of the graph. An optional fourth element gives the opsets to
check (default `OPSETS`).
"""

from typing import NamedTuple

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from tests.ops.test_ops_parity import NEW_FAMILIES as OPS_PARITY_FAMILIES

from kgraph import ops
from kgraph.export import check_onnx
from kgraph.ir import TensorType, all_ops
from kgraph.lowering.jax import lower_to_jax
from kgraph.lowering.onnx import lower_to_onnx
from kgraph.ops.normalization import normalize_batch
from kgraph.rematerialization import remat
from kgraph.tracing import Trace


class Const(NamedTuple):
    """A row input that is a constant of the graph rather than a graph input."""

    array: np.ndarray


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
CORE = [
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
    ("matmul_integer", ops.matmul, (S, Const((M * 40).astype("int8")))),
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
IMAGES = rng.normal(size=(2, 6, 6, 3)).astype("float32")
KERNEL = rng.normal(size=(3, 3, 3, 4)).astype("float32")
KERNEL_T = rng.normal(size=(3, 3, 2, 3)).astype("float32")
CHANNELS = rng.normal(size=(4,)).astype("float32")
VARIANCE = rng.uniform(0.5, 1.5, size=(4,)).astype("float32")
SEQUENCE = rng.normal(size=(2, 5, 3)).astype("float32")
STATE = rng.normal(size=(2, 4)).astype("float32")
ORDER = np.argsort(A, axis=1).astype("int32")
HEADS = rng.normal(size=(2, 5, 4)).astype("float32")


def _recurrent_weights(gates: int, bias_shape=None):
    return (rng.normal(size=(3, gates * 4)).astype("float32") * 0.5,
            rng.normal(size=(4, gates * 4)).astype("float32") * 0.5,
            rng.normal(size=bias_shape or (gates * 4,)).astype("float32") * 0.1)


SIMPLE_RNN, LSTM, GRU = _recurrent_weights(1), _recurrent_weights(4), _recurrent_weights(3, (2, 12))


def _emit(op: str, attrs: dict, *constants):
    def fn(x):
        return x.trace.emit(op, [x, *(x.trace.constant(c) for c in constants)], attrs)

    return fn


def _scan_step(carry, x_t):
    carry = ops.add(carry, x_t)
    return carry, ops.multiply(carry, x_t)


FAMILIES = [
    ("take", lambda x: ops.take(x, np.array([2, 0, 1], "int32"), axis=1), (A,)),
    ("take_along_axis", lambda x, i: ops.take_along_axis(x, i, axis=1), (A, ORDER)),
    ("slice", lambda x: x[:, 1:3], (A,)),
    ("pad", lambda x: ops.pad(x, ((0, 0), (1, 2))), (A,)),
    ("tile", lambda x: ops.tile(x, (1, 2)), (A,)),
    ("repeat", lambda x: ops.repeat(x, 2, axis=1), (A,)),
    ("einsum", lambda x: ops.einsum("bi,ij->bj", x, M), (A,)),
    ("broadcast_to", lambda x: ops.broadcast_to(x, (2, 1, 4)), (A,)),
    ("split", lambda x: ops.split(x, 2, axis=1)[1], (A,)),
    ("cumsum", lambda x: ops.cumsum(x, axis=1), (A,)),
    ("conv", lambda x: ops.conv(x, KERNEL, padding="same"), (IMAGES,)),
    ("conv_transpose", lambda x: ops.conv_transpose(x, KERNEL_T, strides=2, padding="same"), (IMAGES,)),
    ("max_pool", lambda x: ops.max_pool(x, 2, 2), (IMAGES,)),
    ("average_pool", lambda x: ops.average_pool(x, 3, 2, padding="same"), (IMAGES,)),
    ("batch_normalization",
     lambda x: ops.batch_normalization(x, CHANNELS, VARIANCE, axis=-1, offset=CHANNELS, scale=VARIANCE), (A,)),
    ("normalize_batch", lambda x: normalize_batch(x, -1, offset=CHANNELS, scale=VARIANCE)[0], (A,)),
    ("normalize_batch_axis_1", lambda x: normalize_batch(x, 1, offset=CHANNELS[:3], scale=VARIANCE[:3])[0], (T,)),
    ("normalize_batch_mean", lambda x: normalize_batch(x, -1)[1], (A,)),
    ("normalize_batch_variance", lambda x: normalize_batch(x, -1)[2], (A,)),
    ("layer_normalization", lambda x: ops.layer_normalization(x, VARIANCE, CHANNELS, axis=-1), (A,)),
    ("group_normalization", lambda x: ops.group_normalization(x, 2, VARIANCE, CHANNELS), (A,)),
    ("resize", lambda x: ops.image.resize(x, (9, 9)), (IMAGES,)),
    ("causal_mask", lambda q: ops.dot_product_attention(q, q, q, is_causal=True), (HEADS[:, :, None, :],)),
    ("simple_rnn", lambda x, h: ops.simple_rnn(x, h, *SIMPLE_RNN, return_sequences=True)[0], (SEQUENCE, STATE)),
    ("lstm", lambda x, h, c: ops.lstm(x, h, c, *LSTM)[0], (SEQUENCE, STATE, STATE)),
    ("gru", lambda x, h: ops.gru(x, h, *GRU)[1], (SEQUENCE, STATE)),
    ("rnn", lambda x, h: ops.rnn(lambda x_t, s: (ops.tanh(ops.add(x_t, s[0])), [ops.tanh(ops.add(x_t, s[0]))]),
                                 x, [h], return_sequences=True)[0], (SEQUENCE[..., :3], STATE[:, :3])),
    ("cond", lambda x: ops.cond(ops.greater(ops.sum(x), 0.0), lambda: ops.multiply(x, 2.0), lambda: ops.negative(x)),
     (A,)),
    ("while_loop", lambda x: ops.while_loop(lambda i, s: ops.less(i, 3), lambda i, s: (ops.add(i, 1), ops.multiply(s, 2.0)),
                                            (np.int32(0), x))[1], (A,)),
    ("scan", lambda x: ops.scan(_scan_step, ops.sum(x, axis=0), x)[1], (A,)),
    ("remat", lambda x, y: remat(lambda a, b: (ops.tanh(ops.multiply(a, b)), ops.sum(a, axis=1)))(x, y)[0], (A, B)),
    ("gemm", _emit("gemm", {}, M, CHANNELS[:1].repeat(5)), (A,)),
    ("conv_bias", _emit("conv_bias", {"strides": (1, 1), "dilation_rate": (1, 1)}, KERNEL, CHANNELS), (IMAGES,)),
    ("upsample_nearest", _emit("upsample_nearest", {"scales": (1, 2, 3, 1)}), (IMAGES,)),
    ("attention", lambda q: q.trace.emit("attention", [q, q, q], {"num_heads": 2, "scale": 0.5}), (HEADS,)),
    ("rfft_dft_padded", lambda x: ops.concatenate(list(ops.rfft(x, 16)), axis=-1), (T,), (17, 21)),
    ("fill_batch", lambda x: ops.concatenate([x, ops.zeros((ops.shape(x)[0], 2))], axis=1), (A,)),
    ("fill_batch_arithmetic", lambda x: ops.full((ops.shape(x)[0] * 2 - 1, 3), 7, "int32"), (A,)),
    ("dim_size", lambda x: ops.divide(x, ops.shape(x)[0] // 2), (A,)),
    ("arange_batch", lambda x: ops.arange(1, ops.shape(x)[0] + 3, 2), (A,)),
]
ROWS = CORE + FAMILIES
OPSETS = (13, 17, 21)


def _trace(fn, inputs):
    with Trace("case") as t:
        args = []
        for i, a in enumerate(inputs):
            if isinstance(a, Const):
                args.append(t.constant(a.array))
            else:
                args.append(t.input(TensorType(str(a.dtype), ("batch",) + a.shape[1:]), f"in{i}"))
        out = fn(*args)
        t.graph.outputs = [out.ir_value]
    t.graph.verify()
    return t.graph


def _feeds(inputs) -> list[np.ndarray]:
    return [a for a in inputs if not isinstance(a, Const)]


def _run_onnx(model: onnx.ModelProto, inputs) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: a for i, a in zip(session.get_inputs(), _feeds(inputs))})[0]


def _params(row):
    return [pytest.param(row[0], row[1], row[2], opset, id=f"{row[0]}-{opset}")
            for opset in (row[3] if len(row) > 3 else OPSETS)]


@pytest.mark.parametrize("case_id,fn,inputs,opset", [p for row in ROWS for p in _params(row)])
def test_op_parity(case_id, fn, inputs, opset):
    graph = _trace(fn, inputs)
    expected = np.asarray(lower_to_jax(graph)({}, _feeds(inputs))[0][0])
    model = lower_to_onnx(graph, {}, opset=opset)
    check_onnx(model)
    got = _run_onnx(model, inputs)
    declared = graph.outputs[0].type
    assert str(got.dtype) == declared.dtype and got.shape == expected.shape, (got.dtype, got.shape, str(declared))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_every_op_is_declared_with_a_jax_rule_and_an_onnx_rule_or_refusal():
    missing = {}
    for name, op in all_ops().items():
        where = {target: op.rule_location(target) for target in ("jax", "onnx")}
        if where["jax"] is None or where["jax"].startswith("refused") or where["onnx"] is None:
            missing[name] = where
    assert missing == {}
    refused = {name for name, op in all_ops().items() if op.refusal("onnx")}
    assert {"dropout", "elastic_transform", "random_normal_like"} <= refused
    assert all(all_ops()[name].random for name in refused - {"jax_call"}), \
        "only random ops and the opaque jax_call are refused so far"


def test_every_op_with_an_onnx_rule_has_a_row():
    """Here, or, for the op families of `kgraph.ops`' own parity table, in tests/ops/test_ops_parity.py."""
    covered = set()
    for row in ROWS:
        covered |= {n.op for n in _trace(row[1], row[2]).nodes}
    exported = {name for name, op in all_ops().items()
                if op.rule("onnx") is not None and op.family not in OPS_PARITY_FAMILIES}
    assert exported - covered == set(), sorted(exported - covered)
