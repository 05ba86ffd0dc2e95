"""What passes share: a GraphRewriter that builds a pass's output graph from its input, constant lookup, and
whether a pass's output differs from its input.

A pass never mutates its input graph (a lowered function or an earlier pass's trace may still hold it): it walks
the input's nodes and, through the rewriter, copies each one, replaces it with other nodes, or maps its outputs to
values it already has. Inputs and parameters are shared between the two graphs; every node output is new.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from kgraph.ir.graph import Graph, Node, Value
from kgraph.ir.passes.dce import live_nodes
from kgraph.ir.passes.manager import PassResult
from kgraph.ir.registry import get_op
from kgraph.ir.types import TensorType, numpy_dtype

# Constants up to this many elements are compared by value; larger ones only by identity.
_COMPARED_ELEMENTS = 1024


def attribute_key(value: Any) -> Any:
    """A hashable stand-in for an attribute value: equal for attributes that mean the same."""
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.size <= _COMPARED_ELEMENTS:
            return ("array", array.dtype.str, array.shape, array.tobytes())
        return ("object", id(value))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(attribute_key(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, attribute_key(v)) for k, v in value.items())))
    if isinstance(value, (str, bytes, int, float, bool, type(None))):
        return (type(value).__name__, value)
    return ("object", id(value))


def structure(graph: Graph) -> tuple:
    """The graph as a hashable value: two graphs with equal structures compute the same the same way."""
    index: dict[Value, Any] = {v: ("input", i, v.type) for i, v in enumerate(graph.inputs)}
    index.update((p, ("param", p.name, p.type)) for p in graph.params)
    if graph.rng is not None:
        index[graph.rng] = ("rng",)
    nodes = []
    for n, node in enumerate(graph.nodes):
        nodes.append((node.op, tuple(index.get(v, ("unknown", v.id)) for v in node.inputs),
                      attribute_key(node.attrs), tuple(v.type for v in node.outputs)))
        index.update((v, ("node", n, k)) for k, v in enumerate(node.outputs))

    def refs(values):
        return tuple(index.get(v, ("unknown", v.id)) for v in values)

    return (tuple(nodes), refs(graph.inputs), refs(graph.params), refs(graph.outputs), refs(graph.losses),
            tuple((name, index.get(v, v.id)) for name, v in graph.updates.items()))


def result_of(source: Graph, graph: Graph) -> PassResult:
    """A pass's result `graph` for input `source`, modified when their structures differ."""
    return PassResult(graph, graph is not source and structure(graph) != structure(source))


def constant_value(value: Value, param_values: Mapping[str, Any] | None = None,
                   params: set[Value] | None = None) -> np.ndarray | None:
    """The array a Value always holds: a `constant` node's value, or a parameter's in `param_values`; else None.

    Args:
        value: a Value of the graph.
        param_values: parameter name → array, when the parameters are frozen (export); None in training graphs.
        params: the graph's parameter Values, so that an input named like a parameter is not mistaken for it.
    """
    producer = value.producer
    if producer is not None:
        if producer.op == "constant":
            return np.asarray(producer.attrs["value"])
        return None
    if param_values is None or params is None or value not in params or value.name not in param_values:
        return None
    return np.asarray(param_values[value.name]).astype(numpy_dtype(value.dtype), copy=False)


def same_shape(a: TensorType, b: TensorType) -> bool:
    """Whether two types have one dtype and one shape (symbolic dims equal by name)."""
    return a.dtype == b.dtype and a.shape == b.shape


def users(graph: Graph) -> dict[Value, int]:
    """How many times each Value is read, counting the graph's results as readers."""
    counts: dict[Value, int] = {}
    for node in graph.nodes:
        for v in node.inputs:
            counts[v] = counts.get(v, 0) + 1
    for v in graph.results():
        counts[v] = counts.get(v, 0) + 1
    return counts


class GraphRewriter:
    """Builds a new Graph from `source`: `copy` a node, `emit` new ones, `replace` an old Value by a new one.

    `get(v)` is the new graph's Value standing for the source's `v`. Output types are always inferred again from
    the op registry, so a pass that changes input types (shape specialization) gets consistent types downstream.

    Args:
        source: the graph being rewritten.
        param_values: frozen parameter values, for `constant`; None leaves parameters variable.
    """

    def __init__(self, source: Graph, param_values: Mapping[str, Any] | None = None):
        self.source = source
        self.graph = Graph(source.name)
        self.graph.inputs = list(source.inputs)
        self.graph.params = list(source.params)
        self.graph.rng = source.rng
        self.param_values = param_values
        self._params = set(source.params)
        self._env: dict[Value, Value] = {}

    def get(self, value: Value) -> Value:
        return self._env.get(value, value)

    def inputs(self, node: Node) -> list[Value]:
        return [self.get(v) for v in node.inputs]

    def constant(self, value: Value) -> np.ndarray | None:
        """The array a Value of the new graph always holds (see `constant_value`), else None."""
        return constant_value(value, self.param_values, self._params)

    def emit(self, op: str, inputs: list[Value], attrs: dict[str, Any] | None = None, name: str = "") -> list[Value]:
        """Appends a node of `op` to the new graph; returns its outputs, typed by the op's inference rule."""
        opdef = get_op(op)
        resolved = opdef.resolve_attrs(dict(attrs or {}))
        types = opdef.infer_types([v.type for v in inputs], resolved)
        return self.graph.add_node(op, inputs, resolved, types, name).outputs

    def emit1(self, op: str, inputs: list[Value], attrs: dict[str, Any] | None = None, name: str = "") -> Value:
        (out,) = self.emit(op, inputs, attrs, name)
        return out

    def literal(self, array, name: str = "") -> Value:
        """A `constant` node holding `array`."""
        return self.emit1("constant", [], {"value": np.asarray(array)}, name)

    def copy(self, node: Node) -> list[Value]:
        """Appends a copy of a source node reading the new graph's Values; maps its outputs."""
        outs = self.emit(node.op, self.inputs(node), node.attrs, node.name)
        self._env.update(zip(node.outputs, outs))
        return outs

    def replace(self, old: Value, new: Value) -> None:
        """From now on the source's `old` is `new`, which must have its dtype and static dims."""
        if old.type.dtype != new.type.dtype or old.type.rank != new.type.rank or any(
                isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(old.shape, new.shape)):
            raise ValueError(f"graph {self.source.name!r}: cannot replace {old!r} by {new!r} of another type")
        self._env[old] = new

    def finish(self) -> Graph:
        """The new graph, its results mapped and the nodes no result needs (those a rewrite replaced) dropped;
        parameters stay, for dead-code elimination to judge."""
        graph = self.graph
        graph.outputs = [self.get(v) for v in self.source.outputs]
        graph.losses = [self.get(v) for v in self.source.losses]
        graph.updates = {name: self.get(v) for name, v in self.source.updates.items()}
        graph.nodes = live_nodes(graph.nodes, graph.results())
        return graph

    def result(self) -> PassResult:
        """`finish()` as a pass's result, modified when it differs from the source graph."""
        return result_of(self.source, self.finish())
