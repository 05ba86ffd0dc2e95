"""Dead-code elimination, the one walk that finds what a graph's results need: the `dce` pass, the rewriter's
clean-up after a rewrite, and the ONNX lowering (which keeps only what the outputs need) all use `live_nodes`."""

from __future__ import annotations

from typing import Iterable

from kgraph.ir.graph import Graph, Node, Value
from kgraph.ir.passes.manager import PassResult, register_pass


def live_nodes(nodes: list[Node], roots: Iterable[Value]) -> list[Node]:
    """The nodes `roots` depend on, in their order in `nodes` (which is topological)."""
    live = set(roots)
    kept = []
    for node in reversed(nodes):
        if any(out in live for out in node.outputs):
            kept.append(node)
            live.update(node.inputs)
    return kept[::-1]


def eliminate_dead_code(graph: Graph) -> Graph:
    """A copy of `graph` without the nodes, parameters and PRNG input that no result depends on; parameters with
    a state update stay."""
    kept = live_nodes(graph.nodes, graph.results())
    read = set(graph.results()) | {v for node in kept for v in node.inputs}
    result = Graph(graph.name)
    result.inputs = list(graph.inputs)
    result.params = [p for p in graph.params if p in read or p.name in graph.updates]
    result.outputs = list(graph.outputs)
    result.losses = list(graph.losses)
    result.updates = dict(graph.updates)
    result.rng = graph.rng if graph.rng is not None and graph.rng in read else None
    result.nodes = kept
    return result


@register_pass("dce")
def dead_code_elimination(graph: Graph) -> PassResult:
    result = eliminate_dead_code(graph)
    modified = (len(result.nodes) != len(graph.nodes) or len(result.params) != len(graph.params)
                or result.rng is not graph.rng)
    return PassResult(result, modified)
