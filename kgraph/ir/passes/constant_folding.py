"""Constant folding: a node whose inputs are all constants becomes one `constant` holding its NumPy result.

Also folds ops that read only their input's static shape (`full_like`, `causal_mask`), the IR's shape arithmetic.
With `param_values` (export), frozen parameters count as constants, so weight reshapes and the like fold away.
A result much larger than the node's inputs is left to compute at run time rather than stored.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from kgraph.ir.graph import Graph, Node
from kgraph.ir.passes.manager import register_pass
from kgraph.ir.passes.rewrite import GraphRewriter, numpy_dtype
from kgraph.ir.registry import get_op
from kgraph.ir.types import TensorType, is_float

# A folded result may hold up to this many elements more than its inputs together.
MAX_GROWTH = 4096


def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def _reshape(x, shape):
    return np.reshape(x, [x.shape[i] if d == 0 else d for i, d in enumerate(shape)])


def _slice(x, starts, stops, steps):
    return x[tuple(slice(*bounds) for bounds in zip(starts, stops, steps))]


def _pad(x, pad_width, mode, constant_value):
    if mode == "constant":
        return np.pad(x, pad_width, constant_values=constant_value)
    return np.pad(x, pad_width, mode=mode)


def _take(x, indices, axis):
    return np.take(x, indices, axis=axis, mode="raise")


def _split(x, sizes, axis):
    return np.split(x, np.cumsum(sizes)[:-1].tolist(), axis=axis)


def _reduce(fn):
    return lambda x, axis, keepdims: fn(x, axis=None if axis is None else tuple(np.atleast_1d(axis).tolist()),
                                        keepdims=keepdims)


def _squeeze(x, axis):
    if axis is None:
        return np.squeeze(x)
    return np.squeeze(x, axis=tuple(np.atleast_1d(axis).tolist()))


# op -> fn(*input arrays, **attrs) computing what the op's JAX rule computes.
NUMPY_RULES: dict[str, Callable] = {
    "identity": lambda x: x, "stop_gradient": lambda x: x, "negative": np.negative, "abs": np.abs, "exp": np.exp,
    "log": np.log, "sqrt": np.sqrt, "rsqrt": lambda x: 1 / np.sqrt(x), "square": np.square, "tanh": np.tanh,
    "sigmoid": _sigmoid, "relu": lambda x: np.maximum(x, 0), "silu": lambda x: x * _sigmoid(x),
    "softplus": lambda x: np.logaddexp(x, 0), "softsign": lambda x: x / (1 + np.abs(x)), "sign": np.sign,
    "floor": np.floor, "ceil": np.ceil, "round": np.round, "reciprocal": np.reciprocal, "log1p": np.log1p,
    "expm1": np.expm1, "sin": np.sin, "cos": np.cos, "logical_not": np.logical_not,
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "maximum": np.maximum, "minimum": np.minimum,
    "equal": np.equal, "not_equal": np.not_equal, "less": np.less, "less_equal": np.less_equal,
    "greater": np.greater, "greater_equal": np.greater_equal, "logical_and": np.logical_and,
    "logical_or": np.logical_or, "where": np.where,
    "divide": lambda a, b: np.divide(a, b) if is_float(a.dtype.name) else _unfoldable(),
    "power": lambda a, b: np.power(a, b) if is_float(a.dtype.name) else _unfoldable(),
    "cast": lambda x, dtype: x.astype(numpy_dtype(dtype)),
    "clip": lambda x, min, max: np.clip(x, min, max),
    "reshape": _reshape, "transpose": lambda x, perm: np.transpose(x, perm),
    "expand_dims": lambda x, axis: np.expand_dims(x, axis), "squeeze": _squeeze,
    "concatenate": lambda *xs, axis: np.concatenate(xs, axis=axis),
    "matmul": np.matmul, "einsum": lambda *xs, equation: np.einsum(equation, *xs),
    "sum": _reduce(np.sum), "mean": _reduce(np.mean), "max": _reduce(np.max), "min": _reduce(np.min),
    "prod": _reduce(np.prod),
    "take": _take, "slice": _slice, "pad": _pad, "tile": lambda x, repeats: np.tile(x, repeats),
    "repeat": lambda x, repeats, axis: np.repeat(x, repeats, axis=axis),
    "broadcast_to": lambda x, shape: np.broadcast_to(x, np.broadcast_shapes(x.shape, tuple(shape))),
    "split": _split, "cumsum": lambda x, axis: np.cumsum(x, axis=axis),
    "softmax": lambda x, axis: _softmax(x, axis),
}


def _softmax(x, axis):
    shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def _unfoldable():
    raise _Unfoldable


class _Unfoldable(Exception):
    pass


def _shape_only(node: Node, types: list[TensorType]) -> np.ndarray | None:
    """The value of an op that reads only its input's static shape, else None."""
    if not types[0].is_static:
        return None
    if node.op == "full_like":
        out = node.outputs[0].type
        return np.full(types[0].shape, node.attrs["value"]).astype(numpy_dtype(out.dtype))
    if node.op == "causal_mask":
        return np.tril(np.ones(types[0].shape[-2:], dtype=bool))
    return None


def _evaluate(node: Node, arrays: list[np.ndarray]) -> list[np.ndarray] | None:
    rule = NUMPY_RULES.get(node.op)
    if rule is None:
        return None
    try:
        with np.errstate(all="ignore"):
            result = rule(*arrays, **node.attrs)
    except (_Unfoldable, ValueError, TypeError, IndexError):
        return None
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _fits(results: list[np.ndarray], node: Node, input_size: int) -> bool:
    if len(results) != len(node.outputs):
        return False
    for array, out in zip(results, node.outputs):
        if tuple(np.shape(array)) != out.type.shape:
            return False
    return sum(np.size(a) for a in results) <= input_size + MAX_GROWTH


@register_pass("constant_folding")
def constant_folding(graph: Graph, *, param_values: Mapping[str, Any] | None = None) -> Graph:
    rewriter = GraphRewriter(graph, param_values)
    for node in graph.nodes:
        if node.op == "constant" or get_op(node.op).random:
            rewriter.copy(node)
            continue
        inputs = rewriter.inputs(node)
        arrays = [rewriter.constant(v) for v in inputs]
        results = None
        if node.op in ("full_like", "causal_mask"):
            value = _shape_only(node, [v.type for v in inputs])
            results = None if value is None else [value]
            size = 0
        elif all(a is not None for a in arrays):
            results = _evaluate(node, arrays)
            size = sum(a.size for a in arrays)
        if results is None or not _fits(results, node, size):
            rewriter.copy(node)
            continue
        for old, array in zip(node.outputs, results):
            array = np.asarray(array).astype(numpy_dtype(old.dtype))
            rewriter.replace(old, rewriter.literal(array, node.name))
    return rewriter.finish()
