"""Constant folding: a node whose inputs are all constants becomes `constant` nodes holding its results.

The results come from the op's own JAX rule run on the host (`kgraph.ir.evaluation`), so a folded value is what
the compiled graph would compute and no op is implemented twice. Ops that read only their inputs' static shapes
(the SHAPE_ONLY trait: `full_like`, `causal_mask`) fold once those shapes are static. With `param_values`
(export), frozen parameters count as constants, so weight reshapes and the like fold away. Random and stateful
ops never fold; a result much larger than the node's inputs is left to compute at run time rather than stored,
and one whose dtype or shape is not the node's declared type is not folded.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from kgraph.ir.evaluation import evaluate, host_target
from kgraph.ir.graph import Graph, Node
from kgraph.ir.passes.manager import PassResult, register_pass
from kgraph.ir.passes.rewrite import GraphRewriter
from kgraph.ir.registry import get_op
from kgraph.ir.traits import SHAPE_ONLY
from kgraph.ir.types import numpy_dtype

MAX_GROWTH = 4096
"""A folded result may hold up to this many elements more than its inputs together."""

SHAPE_ONLY_INPUTS = 1 << 22
"""A shape-only op folds only when its inputs hold at most this many elements (they are evaluated as zeros)."""


def _size(shape: tuple) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _input_arrays(rewriter: GraphRewriter, node: Node) -> tuple[list[np.ndarray], int] | None:
    """The node's input arrays and how many elements they count as, or None when they are not all known."""
    inputs = rewriter.inputs(node)
    if get_op(node.op).has(SHAPE_ONLY):
        if not all(v.type.is_static for v in inputs) or sum(_size(v.shape) for v in inputs) > SHAPE_ONLY_INPUTS:
            return None
        return [np.zeros(v.shape, numpy_dtype(v.dtype)) for v in inputs], 0
    arrays = [rewriter.constant(v) for v in inputs]
    if any(a is None for a in arrays):
        return None
    return arrays, sum(a.size for a in arrays)


def _small_enough(node: Node, input_size: int) -> bool:
    types = [v.type for v in node.outputs]
    return all(t.is_static for t in types) and sum(_size(t.shape) for t in types) <= input_size + MAX_GROWTH


def _typed_as_declared(results: list[np.ndarray], node: Node) -> bool:
    return len(results) == len(node.outputs) and all(
        array.shape == out.type.shape and array.dtype == numpy_dtype(out.dtype)
        for array, out in zip(results, node.outputs))


@register_pass("constant_folding")
def constant_folding(graph: Graph, *, param_values: Mapping[str, Any] | None = None) -> PassResult:
    host_target()  # no lowering installed a host runner: fail here, not silently fold nothing
    rewriter = GraphRewriter(graph, param_values)
    for node in graph.nodes:
        known = _input_arrays(rewriter, node) if node.inputs and get_op(node.op).pure else None
        results = None
        if known is not None and _small_enough(node, known[1]):
            results = evaluate(node.op, known[0], node.attrs)
        if results is None or not _typed_as_declared(results, node):
            rewriter.copy(node)
            continue
        for old, array in zip(node.outputs, results):
            rewriter.replace(old, rewriter.literal(array, node.name))
    return rewriter.result()
