"""Common-subexpression elimination: a node repeating an earlier node's op, inputs and attributes reuses its outputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from kgraph.ir.graph import Graph
from kgraph.ir.passes.manager import register_pass
from kgraph.ir.passes.rewrite import GraphRewriter
from kgraph.ir.registry import get_op

# Constants up to this many elements are compared by value; larger ones only by identity.
_COMPARED_ELEMENTS = 1024


def _key(value: Any) -> Any:
    """A hashable stand-in for an attribute value: equal for attributes that mean the same."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        array = np.asarray(value)
        if array.size <= _COMPARED_ELEMENTS:
            return ("array", array.dtype.str, array.shape, array.tobytes())
        return ("object", id(value))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _key(v)) for k, v in value.items())))
    if isinstance(value, (str, bytes, int, float, bool, type(None))):
        return (type(value).__name__, value)
    return ("object", id(value))


@register_pass("cse")
def common_subexpression_elimination(graph: Graph) -> Graph:
    rewriter = GraphRewriter(graph)
    seen: dict[tuple, list] = {}
    for node in graph.nodes:
        if get_op(node.op).random:
            rewriter.copy(node)
            continue
        inputs = rewriter.inputs(node)
        key = (node.op, tuple(v.id for v in inputs), _key(node.attrs))
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = rewriter.copy(node)
            continue
        for old, new in zip(node.outputs, earlier):
            rewriter.replace(old, new)
    return rewriter.finish()
