"""Dead-code elimination: drops nodes, params and the PRNG input that no result depends on."""

from __future__ import annotations

from kgraph.ir.graph import Graph
from kgraph.ir.passes.manager import register_pass


@register_pass("dce")
def dead_code_elimination(graph: Graph) -> Graph:
    live = set(graph.results())
    kept = []
    for node in reversed(graph.nodes):
        if any(out in live for out in node.outputs):
            kept.append(node)
            live.update(node.inputs)
    kept.reverse()
    result = Graph(graph.name)
    result.inputs = list(graph.inputs)
    result.params = [p for p in graph.params if p in live or p.name in graph.updates]
    result.outputs = list(graph.outputs)
    result.losses = list(graph.losses)
    result.updates = dict(graph.updates)
    result.rng = graph.rng if graph.rng is not None and graph.rng in live else None
    result.nodes = kept
    return result
