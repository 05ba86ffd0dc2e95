"""Every op gives the same numbers eagerly (JAX rule), traced and lowered (IR → JAX), and in NumPy."""

import jax
import numpy as np
import pytest
import scipy.special

from kgraph import ops
from kgraph.ir import TensorType, all_ops
from kgraph.lowering.jax import lower_to_jax
from kgraph.tracing import Trace

rng = np.random.default_rng(0)
A = rng.normal(size=(3, 4)).astype("float32")
B = rng.normal(size=(3, 4)).astype("float32")
P = np.abs(A) + 0.1
M = rng.normal(size=(4, 5)).astype("float32")
I = rng.integers(0, 5, size=(6,)).astype("int32")
Q = rng.integers(-128, 128, size=(3, 4)).astype("int8")
QM = rng.integers(-128, 128, size=(4, 5)).astype("int8")


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# (op names covered, function of kgraph.ops, inputs, numpy reference)
CASES = [
    ("add", ops.add, (A, B), np.add), ("subtract", ops.subtract, (A, B), np.subtract),
    ("multiply", ops.multiply, (A, B), np.multiply), ("divide", ops.divide, (A, P), np.divide),
    ("power", ops.power, (P, B), np.power), ("maximum", ops.maximum, (A, B), np.maximum),
    ("minimum", ops.minimum, (A, B), np.minimum), ("floor_divide", ops.floor_divide, (A, P), np.floor_divide),
    ("mod", ops.mod, (A, P), np.mod), ("equal", ops.equal, (A, A), np.equal),
    ("not_equal", ops.not_equal, (A, B), np.not_equal), ("less", ops.less, (A, B), np.less),
    ("less_equal", ops.less_equal, (A, B), np.less_equal), ("greater", ops.greater, (A, B), np.greater),
    ("greater_equal", ops.greater_equal, (A, B), np.greater_equal),
    ("logical_and", ops.logical_and, (A > 0, B > 0), np.logical_and),
    ("logical_or", ops.logical_or, (A > 0, B > 0), np.logical_or),
    ("logical_not", ops.logical_not, (A > 0,), np.logical_not),
    ("negative", ops.negative, (A,), np.negative), ("abs", ops.abs, (A,), np.abs),
    ("exp", ops.exp, (A,), np.exp), ("log", ops.log, (P,), np.log), ("sqrt", ops.sqrt, (P,), np.sqrt),
    ("rsqrt", ops.rsqrt, (P,), lambda x: 1 / np.sqrt(x)), ("square", ops.square, (A,), np.square),
    ("tanh", ops.tanh, (A,), np.tanh), ("sigmoid", ops.sigmoid, (A,), lambda x: 1 / (1 + np.exp(-x))),
    ("relu", ops.relu, (A,), lambda x: np.maximum(x, 0)),
    ("silu", ops.silu, (A,), lambda x: x / (1 + np.exp(-x))),
    ("softplus", ops.softplus, (A,), lambda x: np.log1p(np.exp(x))),
    ("softsign", ops.softsign, (A,), lambda x: x / (1 + np.abs(x))), ("sign", ops.sign, (A,), np.sign),
    ("floor", ops.floor, (A,), np.floor), ("ceil", ops.ceil, (A,), np.ceil), ("round", ops.round, (A,), np.round),
    ("reciprocal", ops.reciprocal, (P,), np.reciprocal), ("erf", ops.erf, (A,), scipy.special.erf),
    ("log1p", ops.log1p, (P,), np.log1p), ("expm1", ops.expm1, (A,), np.expm1), ("sin", ops.sin, (A,), np.sin),
    ("cos", ops.cos, (A,), np.cos), ("stop_gradient", ops.stop_gradient, (A,), lambda x: x),
    ("gelu", lambda x: ops.gelu(x, approximate=False), (A,), lambda x: 0.5 * x * (1 + scipy.special.erf(x / np.sqrt(2)))),
    ("where", ops.where, (A > 0, A, B), np.where), ("cast", lambda x: ops.cast(x, "int32"), (A * 3,), lambda x: x.astype("int32")),
    ("clip", lambda x: ops.clip(x, -0.5, 0.5), (A,), lambda x: np.clip(x, -0.5, 0.5)),
    ("full_like", lambda x: ops.full_like(x, 2.5), (A,), lambda x: np.full_like(x, 2.5)),
    ("matmul", ops.matmul, (A, M), np.matmul),
    ("matmul_integer", ops.matmul, (Q, QM), lambda a, b: np.matmul(a.astype("int32"), b.astype("int32"))),
    ("sum", lambda x: ops.sum(x, axis=1), (A,), lambda x: x.sum(axis=1)),
    ("mean", lambda x: ops.mean(x, axis=0, keepdims=True), (A,), lambda x: x.mean(axis=0, keepdims=True)),
    ("max", ops.max, (A,), np.max), ("min", lambda x: ops.min(x, axis=(0, 1)), (A,), np.min),
    ("prod", lambda x: ops.prod(x, axis=-1), (A,), lambda x: x.prod(axis=-1)),
    ("logsumexp", lambda x: ops.logsumexp(x, axis=1), (A,), lambda x: scipy.special.logsumexp(x, axis=1)),
    ("argmax", lambda x: ops.argmax(x, axis=1), (A,), lambda x: x.argmax(axis=1)),
    ("argmin", lambda x: ops.argmin(x, axis=0), (A,), lambda x: x.argmin(axis=0)),
    ("softmax", ops.softmax, (A,), _softmax),
    ("log_softmax", ops.log_softmax, (A,), lambda x: np.log(_softmax(x))),
    ("one_hot", lambda x: ops.one_hot(x, 5), (I,), lambda x: np.eye(5, dtype="float32")[x]),
    ("reshape", lambda x: ops.reshape(x, (None, 2, 2)), (A,), lambda x: x.reshape(3, 2, 2)),
    ("transpose", ops.transpose, (A,), np.transpose),
    ("expand_dims", lambda x: ops.expand_dims(x, 1), (A,), lambda x: x[:, None]),
    ("squeeze", lambda x: ops.squeeze(x, 1), (A[:, :1],), lambda x: x[:, 0]),
    ("concatenate", lambda x, y: ops.concatenate([x, y], axis=1), (A, B), lambda x, y: np.concatenate([x, y], 1)),
]


def _traced(fn, inputs):
    with Trace("case") as t:
        symbols = [t.input(TensorType(str(a.dtype), ("batch",) + a.shape[1:]), f"in{i}") for i, a in enumerate(inputs)]
        out = fn(*symbols)
        t.graph.outputs = [out.ir_value]
    t.graph.verify()
    return np.asarray(lower_to_jax(t.graph)({}, list(inputs))[0][0]), t.graph


@pytest.mark.parametrize("name,fn,inputs,reference", CASES, ids=[c[0] for c in CASES])
def test_op_parity(name, fn, inputs, reference):
    expected = reference(*inputs)
    eager = np.asarray(fn(*inputs))
    traced, graph = _traced(fn, inputs)
    jitted = np.asarray(jax.jit(fn)(*inputs))
    assert name in {n.op for n in graph.nodes}
    for got in (eager, traced, jitted):
        assert got.shape == np.shape(expected)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_every_registered_op_has_a_case():
    """Ops of the core families are covered here (random_sample in tests/test_random.py); each other family's test
    module covers its own."""
    covered = {c[0] for c in CASES} | {"constant", "identity", "dropout", "random_sample"}
    core = {name for name, op in all_ops().items()
            if op.family in ("elementwise", "linalg", "nn", "random", "reduction", "shape")}
    assert core <= covered, sorted(core - covered)


def test_weak_python_scalars_keep_the_tensor_dtype():
    half = np.ones((2,), "float16")
    assert ops.multiply(half, 2.0).dtype == "float16"
    assert ops.add(np.ones((2,), "int32"), 0.5).dtype == "float32"
    assert ops.divide(np.ones((2,), "int32"), 2).dtype == "float32"


def test_dropout_scales_kept_units_and_respects_rate():
    from kgraph.ops.nn import dropout_with_key
    from kgraph.random import key

    x = np.ones((200, 50), "float32")
    y = np.asarray(dropout_with_key(x, 0.3, 7, key(1)))
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    again = np.asarray(dropout_with_key(x, 0.3, 7, key(1)))
    np.testing.assert_array_equal(y, again)


def test_sum_of_bools_counts_in_every_mode():
    mask = np.array([True, False, True])
    assert np.asarray(ops.sum(mask)) == 2 and np.asarray(ops.sum(mask)).dtype == np.int32
    traced, graph = _traced(lambda m: ops.sum(m), (mask,))
    assert traced == 2 and graph.outputs[0].dtype == "int32"
