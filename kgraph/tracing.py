"""Tracing: running layer code on SymbolicTensors records IR nodes into a Graph."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from kgraph import context
from kgraph.ir import Graph, TensorType, Value, get_op
from kgraph.ir.shapes import dim_of_expr
from kgraph.ir.types import Dim, canonical_dtype
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
        return SymbolicTensor(self, self.graph.updates.get(value.name, value))

    def write_variable(self, variable, new_value: SymbolicTensor) -> None:
        self.read_variable(variable)
        param = self._params[variable]
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


class SymbolicDim:
    """A dim of a traced tensor that is known only when the model runs (the batch): what `ops.shape(x)` gives for
    it inside `call`, where Keras on JAX gives the number.

    It stands for `expr`, a dim expression (`kgraph.ir.shapes.check_dim_expr`) over the shapes of `refs`, so
    creation and random functions, reshape and tile size their results per batch. Arithmetic with ints keeps
    it a SymbolicDim; anything else uses its value as an int32 scalar tensor (`value`).
    """

    def __init__(self, refs: tuple, expr, dim: Dim):
        self.refs = refs
        self.expr = expr
        self.dim = dim

    @property
    def trace(self) -> Trace:
        return self.refs[0].trace

    @property
    def value(self) -> SymbolicTensor:
        """The size as an int32 scalar tensor of the trace."""
        return self.trace.emit("dim_size", list(self.refs), {"dim": self.expr})

    def _combine(self, operator: str, other, reverse: bool = False):
        if isinstance(other, bool) or not isinstance(other, (int, np.integer, SymbolicDim)):
            return NotImplemented
        refs, (a, b) = merge_dims([self, other])
        if reverse:
            a, b = b, a
        expr = (operator, a, b)
        return SymbolicDim(refs, expr, dim_of_expr(expr, [r.type.shape for r in refs], "shape arithmetic"))

    def __add__(self, other):
        return self._combine("add", other)

    def __radd__(self, other):
        return self._combine("add", other, reverse=True)

    def __sub__(self, other):
        return self._combine("subtract", other)

    def __rsub__(self, other):
        return self._combine("subtract", other, reverse=True)

    def __mul__(self, other):
        return self._combine("multiply", other)

    def __rmul__(self, other):
        return self._combine("multiply", other, reverse=True)

    def __floordiv__(self, other):
        return self._combine("floor_divide", other)

    def __rfloordiv__(self, other):
        return self._combine("floor_divide", other, reverse=True)

    def __neg__(self):
        return self._combine("multiply", -1)

    def __truediv__(self, other):
        return self.value / other

    def __rtruediv__(self, other):
        return other / self.value

    def __mod__(self, other):
        return self.value % other

    def __rmod__(self, other):
        return other % self.value

    def __eq__(self, other):
        return isinstance(other, SymbolicDim) and other.dim == self.dim

    def __hash__(self):
        return hash(self.dim)

    def __bool__(self):
        return True

    def _unknown(self, use: str):
        return TypeError(
            f"the dim {self.dim!r} of a traced call is known only when the model runs (one program serves every "
            f"batch size), so it cannot be {use}; pass it to kgraph.ops creation/random functions, reshape, "
            "tile or broadcast_to, or use it as a tensor (ops.cast(dim, 'float32'))")

    def __index__(self):
        raise self._unknown("used as a Python int")

    def __int__(self):
        raise self._unknown("used as a Python int")

    def __float__(self):
        raise self._unknown("used as a Python float")

    def __lt__(self, other):
        raise self._unknown("compared")

    __le__ = __gt__ = __ge__ = __lt__

    def __repr__(self) -> str:
        return f"SymbolicDim({self.dim})"


def symbolic_shape(x: SymbolicTensor) -> tuple:
    """x's shape with a SymbolicDim for each dim known only at run time."""
    return tuple(d if isinstance(d, int) else SymbolicDim((x,), ("dim", 0, i), d) for i, d in enumerate(x.type.shape))


def _reindex(expr, mapping: list[int]):
    if isinstance(expr, int):
        return expr
    if expr[0] == "dim":
        return ("dim", mapping[expr[1]], expr[2])
    return (expr[0], _reindex(expr[1], mapping), _reindex(expr[2], mapping))


def merge_dims(dims, offset: int = 0) -> tuple[tuple, list]:
    """The tensors that `dims` (ints and SymbolicDims) read, once each, and each dim as an expression over them,
    indexing from `offset` (for ops whose first inputs are something else, such as a key)."""
    refs: list[SymbolicTensor] = []
    exprs = []
    for d in dims:
        if not isinstance(d, SymbolicDim):
            exprs.append(int(d))
            continue
        mapping = []
        for r in d.refs:
            found = next((i for i, seen in enumerate(refs) if seen.ir_value is r.ir_value), None)
            if found is None:
                refs.append(r)
                found = len(refs) - 1
            mapping.append(found + offset)
        exprs.append(_reindex(d.expr, mapping))
    return tuple(refs), exprs
