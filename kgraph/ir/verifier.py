"""Checks a Graph's invariants: topological order, single definitions, types matching the op registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kgraph.ir.registry import get_op

if TYPE_CHECKING:
    from kgraph.ir.graph import Graph


class VerificationError(ValueError):
    """The graph breaks an IR invariant; the message names the node and what is wrong."""


def verify(graph: Graph) -> None:
    defined = set(graph.inputs) | set(graph.params)
    if graph.rng is not None:
        defined.add(graph.rng)
    names = [p.name for p in graph.params]
    if len(names) != len(set(names)):
        raise VerificationError(f"graph {graph.name!r}: duplicate parameter names {sorted(n for n in names if names.count(n) > 1)}")
    for node in graph.nodes:
        where = f"graph {graph.name!r}, node {node.name or node.op!r} ({node.op})"
        for v in node.inputs:
            if v not in defined:
                raise VerificationError(f"{where}: input {v!r} is used before it is defined")
        op = get_op(node.op)
        try:
            attrs = op.resolve_attrs(node.attrs)
            expected = op.infer_types([v.type for v in node.inputs], attrs)
        except (TypeError, ValueError) as e:
            raise VerificationError(f"{where}: {e}") from None
        actual = [v.type for v in node.outputs]
        if expected != actual:
            raise VerificationError(f"{where}: outputs typed {[str(t) for t in actual]}, the op infers {[str(t) for t in expected]}")
        for out in node.outputs:
            if out in defined:
                raise VerificationError(f"{where}: output {out!r} is defined twice")
            if out.producer is not node:
                raise VerificationError(f"{where}: output {out!r} does not point back to its producer")
            defined.add(out)
    for v in graph.results():
        if v not in defined:
            raise VerificationError(f"graph {graph.name!r}: result {v!r} is not defined in the graph")
    for name in graph.updates:
        if name not in names:
            raise VerificationError(f"graph {graph.name!r}: update of {name!r}, which is not a parameter")
