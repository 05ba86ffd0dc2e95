"""Common-subexpression elimination: a node repeating an earlier node's op, inputs and attributes reuses its outputs.

Random and stateful ops are never merged; a commutative op's two inputs count in either order.
"""

from __future__ import annotations

from kgraph.ir.graph import Graph
from kgraph.ir.passes.manager import PassResult, register_pass
from kgraph.ir.passes.rewrite import GraphRewriter, attribute_key
from kgraph.ir.registry import get_op
from kgraph.ir.traits import COMMUTATIVE


@register_pass("cse")
def common_subexpression_elimination(graph: Graph) -> PassResult:
    rewriter = GraphRewriter(graph)
    seen: dict[tuple, list] = {}
    for node in graph.nodes:
        op = get_op(node.op)
        if not op.pure:
            rewriter.copy(node)
            continue
        ids = tuple(v.id for v in rewriter.inputs(node))
        key = (node.op, tuple(sorted(ids)) if op.has(COMMUTATIVE) else ids, attribute_key(node.attrs))
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = rewriter.copy(node)
            continue
        for old, new in zip(node.outputs, earlier):
            rewriter.replace(old, new)
    return rewriter.result()
