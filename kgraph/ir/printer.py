"""A readable text listing of a Graph, one node per line with result types, like torch.fx or MLIR."""

from __future__ import annotations

import numpy as np

from typing import TYPE_CHECKING

from kgraph.ir import graph as ir_graph

if TYPE_CHECKING:
    from kgraph.ir.graph import Graph, Value


def _attr(value) -> str:
    if isinstance(value, ir_graph.Graph):
        return f"<graph {value.name}: {len(value.inputs)} inputs, {len(value.nodes)} nodes>"
    if isinstance(value, np.ndarray):
        if value.size <= 4:
            return np.array2string(value, separator=", ")
        return f"<{value.dtype}{list(value.shape)}>"
    return repr(value)


def format_graph(graph: Graph) -> str:
    names: dict[Value, str] = {}

    def name(v: Value) -> str:
        if v not in names:
            names[v] = f"%{v.name}" if v.name else f"%{len([n for n in names.values() if n[1:].isdigit()])}"
        return names[v]

    lines = [f"graph {graph.name}("]
    for v in graph.inputs:
        lines.append(f"    {name(v)}: {v.type},")
    lines.append(") params(")
    for v in graph.params:
        lines.append(f"    {name(v)}: {v.type},")
    if graph.rng is not None:
        lines.append(f"    {name(graph.rng)}: {graph.rng.type},")
    lines.append(") {")
    body = []
    for node in graph.nodes:
        outs = ", ".join(f"{name(o)}: {o.type}" for o in node.outputs)
        args = ", ".join(name(v) for v in node.inputs)
        attrs = ", ".join(f"{k}={_attr(v)}" for k, v in node.attrs.items())
        call = f"{node.op}({args}{'; ' if args and attrs else ''}{attrs})"
        body.append((f"  {outs} = {call}", node.name))
    width = max((len(text) for text, _ in body), default=0)
    for text, origin in body:
        lines.append(f"{text.ljust(width)}  # {origin}" if origin else text)
    for label, values in (("losses", graph.losses), ("updates", list(graph.updates.values()))):
        if values:
            lines.append(f"  {label} " + ", ".join(name(v) for v in values))
    lines.append("  return " + ", ".join(name(v) for v in graph.outputs))
    lines.append("}")
    return "\n".join(lines)
