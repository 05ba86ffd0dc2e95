"""Tracing: running layer code on SymbolicTensors records IR nodes into a Graph."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from kgraph import context
from kgraph.ir import Graph, TensorType, Value, get_op
from kgraph.ir.types import canonical_dtype
from kgraph.operators import TensorOperators

class SymbolicTensor(TensorOperators):
    """A Value of the graph being traced, with a NumPy-like face (shape with None for symbolic dims)."""

    def __init__(self, trace: "Trace", value: Value):
        self.trace = trace
        self.ir_value = value

    @property
    def type(self) -> TensorType:
        return self.ir_value.type

    @property
    def shape(self) -> tuple:
        return self.ir_value.type.keras_shape()

    @property
    def dtype(self) -> str:
        return self.ir_value.dtype

    @property
    def ndim(self) -> int:
        return self.ir_value.type.rank

    def __repr__(self) -> str:
        return f"<SymbolicTensor {self.ir_value.type}>"

    def __iter__(self):
        raise TypeError("Iterating over a symbolic tensor is not supported; index it or use kgraph.ops.split")

    def __bool__(self):
        raise TypeError(
            "A symbolic tensor has no truth value while a model is traced; use kgraph.ops.where or "
            "kgraph.ops.cond for data-dependent choices."
        )


class Trace:
    """The graph under construction plus what layer code needs while it runs: variables, losses, RNG."""

    def __init__(self, name: str = "graph", root=None):
        self.graph = Graph(name)
        self.root = root
        self._params: dict[Any, Value] = {}
        self._names: list[str] = []
        self._seed = 0
        self.variables: dict[str, Any] = {}

    def __enter__(self) -> "Trace":
        context.current().traces.append(self)
        return self

    def __exit__(self, *exc) -> None:
        context.current().traces.pop()

    @contextlib.contextmanager
    def name_scope(self, name: str):
        """Nodes recorded inside carry `name` (a layer's name) so each maps back to its layer."""
        self._names.append(name)
        try:
            yield
        finally:
            self._names.pop()

    def is_symbolic(self, x) -> bool:
        return isinstance(x, SymbolicTensor) and x.trace is self

    def input(self, type: TensorType, name: str) -> SymbolicTensor:
        return SymbolicTensor(self, self.graph.add_input(type, name))

    def read_variable(self, variable) -> SymbolicTensor:
        value = self._params.get(variable)
        if value is None:
            name = variable.path
            taken = {p.name for p in self.graph.params}
            suffix = 1
            while name in taken:
                name, suffix = f"{variable.path}_{suffix}", suffix + 1
            value = self.graph.add_param(TensorType(variable.dtype, variable.shape), name)
            self._params[variable] = value
            self.variables[name] = variable
        return SymbolicTensor(self, value)

    def write_variable(self, variable, new_value: SymbolicTensor) -> None:
        param = self.read_variable(variable).ir_value
        if new_value.type != param.type:
            raise ValueError(f"assigning {new_value.type} to variable {variable.path!r} of type {param.type}")
        self.graph.updates[param.name] = new_value.ir_value

    def add_loss(self, loss: SymbolicTensor) -> None:
        self.graph.losses.append(loss.ir_value)

    def next_seed(self) -> int:
        self._seed += 1
        return self._seed

    def rng(self) -> SymbolicTensor:
        return SymbolicTensor(self, self.graph.rng_input())

    def constant(self, array) -> SymbolicTensor:
        array = np.asarray(array)
        return self.emit("constant", [], {"value": array})

    def emit(self, op: str, inputs: list, attrs: dict[str, Any]) -> SymbolicTensor | list[SymbolicTensor]:
        """Records one node; inputs are SymbolicTensors of this trace or constants."""
        values = [self._as_value(x) for x in inputs]
        opdef = get_op(op)
        attrs = opdef.resolve_attrs(attrs)
        types = opdef.infer_types([v.type for v in values], attrs)
        node = self.graph.add_node(op, values, attrs, types, "/".join(self._names))
        outs = [SymbolicTensor(self, v) for v in node.outputs]
        return outs[0] if len(outs) == 1 else outs

    def _as_value(self, x) -> Value:
        if isinstance(x, SymbolicTensor):
            if x.trace is not self:
                raise ValueError("a symbolic tensor from another trace was used; tensors cannot cross models' traces")
            return x.ir_value
        array = np.asarray(x)
        return self.constant(array.astype(canonical_dtype(array.dtype))).ir_value


def current_trace() -> Trace | None:
    """The trace being recorded on this thread, or None."""
    return context.current().trace
