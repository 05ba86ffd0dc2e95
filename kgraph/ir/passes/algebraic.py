"""Algebraic simplification: identities, x + 0, x * 1, x / 1, double transposes and reshapes, cast chains.

Each rewrite gives bit-identical results (`x + 0` turns -0.0 into 0.0, which compares equal) and keeps the output
type; a rule that would broadcast `x` to a larger shape or another dtype does not apply. One more moves a
constant added after a reshape that only splits the last axis (a multi-head projection's bias) before it, so the
add meets its matmul and the reshape can meet the next one.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from kgraph.ir.graph import Graph, Node, Value
from kgraph.ir.passes.manager import register_pass
from kgraph.ir.passes.rewrite import GraphRewriter, same_shape, users
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


def _all_equal(array: np.ndarray | None, scalar: float) -> bool:
    return array is not None and array.size > 0 and bool(np.all(array == scalar))


def _neutral_operand(rewriter: GraphRewriter, node: Node, inputs: list[Value]) -> Value | None:
    """The operand an add/subtract/multiply/divide leaves unchanged because the other is all 0 (or all 1)."""
    neutral = {"add": 0, "subtract": 0, "multiply": 1, "divide": 1}[node.op]
    out = node.outputs[0].type
    sides = (0, 1) if node.op in ("add", "multiply") else (0,)
    for keep in sides:
        other = inputs[1 - keep]
        if same_shape(inputs[keep].type, out) and _all_equal(rewriter.constant(other), neutral):
            return inputs[keep]
    return None


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


def _add_before_split(rewriter: GraphRewriter, node: Node, inputs: list[Value], uses: dict[Value, int]
                      ) -> Value | None:
    """`reshape(m, (..., h, d)) + c` as `reshape(m + c', (..., h, d))` when the reshape only splits m's last axis,
    is read only here, and c is a constant varying along the split axes only (c' is c flattened the same way)."""
    for split, c in (inputs, inputs[::-1]):
        reshape = split.producer
        value = rewriter.constant(c)
        if reshape is None or reshape.op != "reshape" or value is None or uses.get(split, 0) != 1:
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
        added = rewriter.emit1("add", [m, rewriter.literal(np.ascontiguousarray(flat), node.name)], {}, node.name)
        return rewriter.emit1("reshape", [added], reshape.attrs, reshape.name)
    return None


def _simplify(rewriter: GraphRewriter, node: Node, inputs: list[Value], uses: dict[Value, int]) -> Value | None:
    """The Value that replaces `node`'s single output, emitting what it needs; None to copy the node."""
    op, out = node.op, node.outputs[0]
    if op == "identity":
        return inputs[0]
    if op in ("add", "subtract", "multiply", "divide"):
        neutral = _neutral_operand(rewriter, node, inputs)
        return neutral if neutral is not None or op != "add" else _add_before_split(rewriter, node, inputs, uses)
    x = inputs[0] if inputs else None
    producer = x.producer if x is not None else None
    if op == "transpose":
        perm = tuple(node.attrs["perm"])
        if producer is not None and producer.op == "transpose":
            perm, x = _composed_perm(tuple(producer.attrs["perm"]), perm), producer.inputs[0]
        if perm == tuple(range(len(perm))):
            return x
        return rewriter.emit1("transpose", [x], {"perm": perm}, node.name) if x is not inputs[0] else None
    if op in ("reshape", "squeeze", "expand_dims"):
        if same_shape(x.type, out.type):
            return x
        if producer is not None and producer.op in ("reshape", "squeeze", "expand_dims"):
            source = producer.inputs[0]
            if same_shape(source.type, out.type) and sum(isinstance(d, str) for d in out.shape) <= 1:
                return source  # one symbolic dim at most: the element count pins it
            target = _reshape_target(source.type, out.type)
            if target is not None:
                candidate = rewriter.emit1("reshape", [source], {"shape": target}, node.name)
                if same_shape(candidate.type, out.type):
                    return candidate
        return None
    if op == "cast":
        if x.dtype == out.dtype:
            return x
        if producer is not None and producer.op == "cast":
            source = producer.inputs[0]
            if x.dtype in _EXACT_WIDENINGS.get(source.dtype, ()):
                if source.dtype == out.dtype:
                    return source
                return rewriter.emit1("cast", [source], {"dtype": out.dtype}, node.name)
        return None
    if op == "negative" and producer is not None and producer.op == "negative":
        return producer.inputs[0]
    return None


@register_pass("algebraic")
def algebraic_simplification(graph: Graph, *, param_values: Mapping[str, Any] | None = None) -> Graph:
    rewriter = GraphRewriter(graph, param_values)
    uses = users(graph)
    copied_uses: dict[Value, int] = {}  # a copied node's new output → how often the source reads the old one
    for node in graph.nodes:
        inputs = rewriter.inputs(node)
        result = _simplify(rewriter, node, inputs, copied_uses) if len(node.outputs) == 1 else None
        if result is None:
            outs = rewriter.copy(node)
            copied_uses.update((new, uses.get(old, 0)) for old, new in zip(node.outputs, outs))
        else:
            rewriter.replace(node.outputs[0], result)
    return rewriter.finish()
