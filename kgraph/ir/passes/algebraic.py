"""Algebraic simplification, a pattern table: identities, x + 0, x * 1, x / 1, double transposes, reshape chains,
cast chains, double negation.

Each rewrite gives bit-identical results (`x + 0` turns -0.0 into 0.0, which compares equal) and keeps the output
type; a rule that would broadcast `x` to a larger shape or another dtype does not apply. One more moves a
constant added after a reshape that only splits the last axis (a multi-head projection's bias) before it, so the
add meets its matmul and the reshape can meet the next one.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from kgraph.ir.graph import Graph, Node, Value
from kgraph.ir.passes.manager import PassResult, register_pass
from kgraph.ir.passes.pattern import PatternTable, apply_patterns, on
from kgraph.ir.passes.rewrite import GraphRewriter, same_shape, users
from kgraph.ir.registry import get_op
from kgraph.ir.traits import COMMUTATIVE, RESHAPE
from kgraph.ir.types import TensorType

# dtype -> dtypes that hold each of its values exactly, so a cast through them and on is one cast.
_EXACT_WIDENINGS = {
    "bool": {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "bfloat16",
             "float32", "float64"},
    "int8": {"int16", "int32", "int64", "float16", "float32", "float64"},
    "int16": {"int32", "int64", "float32", "float64"},
    "int32": {"int64", "float64"},
    "uint8": {"int16", "int32", "int64", "uint16", "uint32", "uint64", "float16", "float32", "float64"},
    "uint16": {"int32", "int64", "uint32", "uint64", "float32", "float64"},
    "uint32": {"int64", "uint64", "float64"},
    "float16": {"float32", "float64"},
    "bfloat16": {"float32", "float64"},
    "float32": {"float64"},
}


class _Algebra:
    """A run's state: the rewriter, and for each copied node's new output how often the source reads the old one."""

    def __init__(self, graph: Graph, param_values):
        self.rw = GraphRewriter(graph, param_values)
        self.uses = users(graph)
        self.copied_uses: dict[Value, int] = {}

    def copy(self, node: Node) -> list[Value]:
        outs = self.rw.copy(node)
        self.copied_uses.update((new, self.uses.get(old, 0)) for old, new in zip(node.outputs, outs))
        return outs


def _all_equal(array: np.ndarray | None, scalar: float) -> bool:
    return array is not None and array.size > 0 and bool(np.all(array == scalar))


_NEUTRAL = {"add": 0, "subtract": 0, "multiply": 1, "divide": 1}


def _composed_perm(inner: tuple, outer: tuple) -> tuple:
    """The perm of transpose(transpose(x, inner), outer)."""
    return tuple(inner[p] for p in outer)


def _reshape_target(source: TensorType, out: TensorType) -> tuple | None:
    """A `reshape` shape attribute taking `source` straight to `out`: ints stay, a symbolic dim copies (0) the
    source's dim at its index, and at most one other symbolic dim is inferred (-1); None if that cannot say it."""
    target, inferred = [], 0
    for i, d in enumerate(out.shape):
        if isinstance(d, int):
            target.append(d)
        elif i < source.rank and source.shape[i] == d:
            target.append(0)
        else:
            target.append(-1)
            inferred += 1
    return tuple(target) if inferred <= 1 else None


@on("identity")
def _identity(ctx: _Algebra, node: Node) -> Value | None:
    return ctx.rw.get(node.inputs[0])


@on(*_NEUTRAL)
def _neutral_operand(ctx: _Algebra, node: Node) -> Value | None:
    """The operand an add/subtract/multiply/divide leaves unchanged because the other is all 0 (or all 1)."""
    inputs = ctx.rw.inputs(node)
    out = node.outputs[0].type
    for keep in (0, 1) if get_op(node.op).has(COMMUTATIVE) else (0,):
        if same_shape(inputs[keep].type, out) and _all_equal(ctx.rw.constant(inputs[1 - keep]), _NEUTRAL[node.op]):
            return inputs[keep]
    return None


@on("add")
def _add_before_split(ctx: _Algebra, node: Node) -> Value | None:
    """`reshape(m, (..., h, d)) + c` as `reshape(m + c', (..., h, d))` when the reshape only splits m's last axis,
    is read only here, and c is a constant varying along the split axes only (c' is c flattened the same way)."""
    rw, inputs = ctx.rw, ctx.rw.inputs(node)
    for split, c in (inputs, inputs[::-1]):
        reshape = split.producer
        value = rw.constant(c)
        if reshape is None or reshape.op != "reshape" or value is None or ctx.copied_uses.get(split, 0) != 1:
            continue
        m, out = reshape.inputs[0], split.type
        if (out.rank != m.type.rank + 1 or out.shape[:-2] != m.type.shape[:-1] or not isinstance(m.shape[-1], int)
                or not all(isinstance(d, int) for d in out.shape[-2:]) or value.ndim > out.rank
                or not same_shape(node.outputs[0].type, out) or c.dtype != out.dtype):
            continue
        padded = value.reshape((1,) * (out.rank - value.ndim) + value.shape)
        if any(d != 1 for d in padded.shape[:-2]):
            continue
        flat = np.broadcast_to(padded.reshape(padded.shape[-2:]), out.shape[-2:]).reshape(-1)
        added = rw.emit1("add", [m, rw.literal(np.ascontiguousarray(flat), node.name)], {}, node.name)
        return rw.emit1("reshape", [added], reshape.attrs, reshape.name)
    return None


@on("transpose")
def _transposes(ctx: _Algebra, node: Node) -> Value | None:
    """An identity transpose is its input; a transpose of a transpose is one transpose."""
    x = ctx.rw.get(node.inputs[0])
    perm, producer = tuple(node.attrs["perm"]), x.producer
    source = x
    if producer is not None and producer.op == "transpose":
        perm, source = _composed_perm(tuple(producer.attrs["perm"]), perm), producer.inputs[0]
    if perm == tuple(range(len(perm))):
        return source
    return ctx.rw.emit1("transpose", [source], {"perm": perm}, node.name) if source is not x else None


@on(trait=RESHAPE)
def _reshapes(ctx: _Algebra, node: Node) -> Value | None:
    """A reshape to the same shape is its input; a chain of reshapes is one reshape (or none)."""
    x, out = ctx.rw.get(node.inputs[0]), node.outputs[0]
    if same_shape(x.type, out.type):
        return x
    producer = x.producer
    if producer is None or not get_op(producer.op).has(RESHAPE):
        return None
    source = producer.inputs[0]
    if same_shape(source.type, out.type) and sum(isinstance(d, str) for d in out.shape) <= 1:
        return source  # one symbolic dim at most: the element count pins it
    target = _reshape_target(source.type, out.type)
    if target is not None:
        candidate = ctx.rw.emit1("reshape", [source], {"shape": target}, node.name)
        if same_shape(candidate.type, out.type):
            return candidate
    return None


@on("cast")
def _casts(ctx: _Algebra, node: Node) -> Value | None:
    """A cast to the same dtype is its input; a cast through an exact widening and on is one cast."""
    x, out = ctx.rw.get(node.inputs[0]), node.outputs[0]
    if x.dtype == out.dtype:
        return x
    producer = x.producer
    if producer is not None and producer.op == "cast":
        source = producer.inputs[0]
        if x.dtype in _EXACT_WIDENINGS.get(source.dtype, ()):
            if source.dtype == out.dtype:
                return source
            return ctx.rw.emit1("cast", [source], {"dtype": out.dtype}, node.name)
    return None


@on("negative")
def _double_negation(ctx: _Algebra, node: Node) -> Value | None:
    producer = ctx.rw.get(node.inputs[0]).producer
    return producer.inputs[0] if producer is not None and producer.op == "negative" else None


RULES = PatternTable([_identity, _neutral_operand, _add_before_split, _transposes, _reshapes, _casts,
                      _double_negation])


@register_pass("algebraic")
def algebraic_simplification(graph: Graph, *, param_values: Mapping[str, Any] | None = None) -> PassResult:
    return apply_patterns(RULES, _Algebra(graph, param_values), graph)
