"""Pattern tables: a rewrite pass as a list of rules, each matching a node by op name or by trait and returning
the Value that replaces the node's output (emitting the nodes it needs), or None to let the next rule try.

`algebraic` and `patterns` are tables run by `apply_patterns`; a new rewrite is one more rule in a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from kgraph.ir.graph import Graph, Node, Value
from kgraph.ir.passes.manager import PassResult
from kgraph.ir.passes.rewrite import GraphRewriter
from kgraph.ir.registry import get_op


class RewriteContext(Protocol):
    """What a table's rules rewrite through: the pass's GraphRewriter and how it copies an unmatched node."""

    rw: GraphRewriter

    def copy(self, node: Node) -> list[Value]: ...


RuleFn = Callable[[Any, Node], "Value | None"]


@dataclass(frozen=True)
class Rule:
    """`fn(ctx, node)` for nodes whose op is one of `ops` or declares the trait `trait`."""

    fn: RuleFn
    ops: tuple[str, ...] = ()
    trait: str | None = None

    def matches(self, op: str) -> bool:
        return op in self.ops or (self.trait is not None and get_op(op).has(self.trait))


def on(*ops: str, trait: str | None = None) -> Callable[[RuleFn], Rule]:
    """Decorator making a rule of `fn` for the named ops and/or the ops with `trait`."""

    def wrap(fn: RuleFn) -> Rule:
        return Rule(fn, ops, trait)

    return wrap


class PatternTable:
    """Rules tried in order on each single-output node; the first that returns a Value wins."""

    def __init__(self, rules: Sequence[Rule]):
        self.rules = tuple(rules)

    def rewrite(self, ctx: RewriteContext, node: Node) -> Value | None:
        if len(node.outputs) != 1:
            return None
        for rule in self.rules:
            if rule.matches(node.op):
                result = rule.fn(ctx, node)
                if result is not None:
                    return result
        return None


def apply_patterns(table: PatternTable, ctx: RewriteContext, graph: Graph) -> PassResult:
    """Walks `graph`'s nodes: each matched node's output is replaced, every other node copied."""
    for node in graph.nodes:
        result = table.rewrite(ctx, node)
        if result is None:
            ctx.copy(node)
        else:
            ctx.rw.replace(node.outputs[0], result)
    return ctx.rw.result()
