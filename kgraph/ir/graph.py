"""The IR's data structures: Values flow between Nodes; a Graph owns them in topological order."""

from __future__ import annotations

import itertools
from typing import Any, Iterable

from kgraph.ir.types import TensorType
from kgraph.ir.verifier import verify
from kgraph.ir.printer import format_graph

_ids = itertools.count()


class Value:
    """A tensor in the graph: produced by one Node (or a graph input/parameter), read by many."""

    __slots__ = ("type", "name", "producer", "id")

    def __init__(self, type: TensorType, name: str | None = None, producer: "Node | None" = None):
        self.type = type
        self.name = name
        self.producer = producer
        self.id = next(_ids)

    @property
    def shape(self):
        return self.type.shape

    @property
    def dtype(self) -> str:
        return self.type.dtype

    def __repr__(self) -> str:
        return f"%{self.name or self.id}: {self.type}"


class Node:
    """One op application: op name, input Values, attributes, output Values."""

    __slots__ = ("op", "inputs", "attrs", "outputs", "name")

    def __init__(self, op: str, inputs: list[Value], attrs: dict[str, Any], outputs: list[Value], name: str = ""):
        self.op = op
        self.inputs = list(inputs)
        self.attrs = dict(attrs)
        self.outputs = list(outputs)
        self.name = name
        for out in self.outputs:
            out.producer = self

    def __repr__(self) -> str:
        return f"Node({self.op}, name={self.name!r})"


class Graph:
    """A model as data.

    `inputs` are the data fed per call, `params` the variables read (named by variable path),
    `outputs` the results, `losses` scalar losses added with `add_loss`, and `updates` maps a
    param name to the Value that becomes its new state (BatchNorm statistics, RNN states).
    `rng`, when present, is the PRNG key input that random ops fold their own offset into.
    """

    def __init__(self, name: str = "graph"):
        self.name = name
        self.inputs: list[Value] = []
        self.params: list[Value] = []
        self.outputs: list[Value] = []
        self.losses: list[Value] = []
        self.updates: dict[str, Value] = {}
        self.rng: Value | None = None
        self.nodes: list[Node] = []

    def add_input(self, type: TensorType, name: str) -> Value:
        value = Value(type, name)
        self.inputs.append(value)
        return value

    def add_param(self, type: TensorType, name: str) -> Value:
        value = Value(type, name)
        self.params.append(value)
        return value

    def rng_input(self) -> Value:
        """The graph's PRNG key input, created on first use."""
        if self.rng is None:
            self.rng = Value(TensorType("uint32", (2,)), "rng")
        return self.rng

    def add_node(self, op: str, inputs: list[Value], attrs: dict[str, Any], output_types: list[TensorType], name: str = "") -> Node:
        outputs = [Value(t) for t in output_types]
        node = Node(op, inputs, attrs, outputs, name)
        self.nodes.append(node)
        return node

    def param(self, name: str) -> Value:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"graph {self.name!r} has no parameter named {name!r}")

    def users(self) -> dict[Value, list[Node]]:
        """Maps each Value to the nodes that read it."""
        result: dict[Value, list[Node]] = {}
        for node in self.nodes:
            for v in node.inputs:
                result.setdefault(v, []).append(node)
        return result

    def results(self) -> Iterable[Value]:
        """Every Value the graph hands back: outputs, added losses, state updates."""
        yield from self.outputs
        yield from self.losses
        yield from self.updates.values()

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.op] = counts.get(node.op, 0) + 1
        return dict(sorted(counts.items()))

    def verify(self) -> None:
        verify(self)

    def __str__(self) -> str:
        return format_graph(self)
