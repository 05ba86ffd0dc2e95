"""Layout: channels-last (NHWC) at the API, channels-first (NCHW) inside, transposes sunk and cancelled.

Each channels-last op with a channels-first form (the DATA_FORMAT trait: convolutions, poolings) becomes that
form between two transposes; then every transpose is carried lazily: a value is known as `transpose(physical,
perm)` and LAYOUT_TRANSPARENT ops (elementwise maps, broadcasts against constants, reductions, ops along an axis
such as softmax or batch normalization, per-axis pads and slices) run on the physical tensor with the axis
attributes their declaration names (`axis`, `axes`, `per_axis`) renumbered. A transpose is only emitted where
an op needs the logical layout, once per value, and transposes that compose to the identity vanish, so a CNN keeps
at most one at each graph boundary. A Flatten feeding Dense layers with constant kernels flattens the physical
layout and permutes the kernels' rows instead (with `param_values`, for frozen weights).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from kgraph.ir.graph import Graph, Node, Value
from kgraph.ir.passes.manager import PassResult, register_pass
from kgraph.ir.passes.rewrite import GraphRewriter
from kgraph.ir.registry import OpDef, get_op
from kgraph.ir.shapes import normalize_axes, normalize_axis
from kgraph.ir.traits import DATA_FORMAT, ELEMENTWISE, LAYOUT_TRANSPARENT, REDUCTION

Perm = tuple[int, ...] | None


def compose(inner: Perm, outer: tuple[int, ...]) -> Perm:
    """The perm of transpose(transpose(x, inner), outer); None for the identity."""
    perm = tuple(outer) if inner is None else tuple(inner[p] for p in outer)
    return None if perm == tuple(range(len(perm))) else perm


def inverse(perm: tuple[int, ...]) -> tuple[int, ...]:
    result = [0] * len(perm)
    for i, p in enumerate(perm):
        result[p] = i
    return tuple(result)


def to_channels_first(rank: int) -> tuple[int, ...]:
    """The perm taking a rank-`rank` channels-last tensor to channels-first."""
    return (0, rank - 1, *range(1, rank - 1))


def to_channels_last(rank: int) -> tuple[int, ...]:
    """The perm taking a rank-`rank` channels-first tensor to channels-last."""
    return (0, *range(2, rank), 1)


class _Layout:
    """The rewrite's state: `reps` maps each source Value to `(physical, perm)`, the new graph's Value and the perm
    that reads the source's layout from it (`transpose(physical, perm)`; None: `physical` itself)."""

    def __init__(self, graph: Graph, param_values):
        self.rw = GraphRewriter(graph, param_values)
        self.reps: dict[Value, tuple[Value, Perm]] = {}
        self._transposed: dict[tuple[int, tuple], Value] = {}
        self.users: dict[Value, list[Node]] = graph.users()
        self.flattened: dict[Value, tuple[Value, np.ndarray]] = {}

    def rep(self, old: Value) -> tuple[Value, Perm]:
        return self.reps.get(old, (old, None))

    def transposed(self, value: Value, perm: Perm, name: str) -> Value:
        """`transpose(value, perm)`, emitted once per value and perm."""
        if perm is None:
            return value
        key = (value.id, perm)
        if key not in self._transposed:
            self._transposed[key] = self.rw.emit1("transpose", [value], {"perm": perm}, name)
        return self._transposed[key]

    def logical(self, old: Value, name: str = "") -> Value:
        physical, perm = self.rep(old)
        return self.transposed(physical, perm, name or (old.producer.name if old.producer else ""))

    def copy(self, node: Node) -> None:
        outs = self.rw.emit(node.op, [self.logical(v, node.name) for v in node.inputs], node.attrs, node.name)
        for old, new in zip(node.outputs, outs):
            self.reps[old] = (new, None)

    def set(self, node: Node, physical: Value, perm: Perm) -> None:
        self.reps[node.outputs[0]] = (physical, perm)

    def sinkable(self, old: Value) -> bool:
        """Whether a transposed value may stay transposed past one of its users: it is its only use, or every
        user can take it transposed, so that it is never emitted in the logical layout twice over."""
        users = self.users.get(old, [])
        return len(users) <= 1 or all(get_op(u.op).has(LAYOUT_TRANSPARENT) for u in users)

    # --- rules: each returns True when it handled the node ---

    def window(self, node: Node) -> bool:
        rank = node.outputs[0].type.rank
        if node.attrs.get("data_format") != "channels_last" or rank < 3:
            return False
        physical, perm = self.rep(node.inputs[0])
        x = self.transposed(physical, compose(perm, to_channels_first(rank)), node.name)
        rest = [self.logical(v, node.name) for v in node.inputs[1:]]
        y = self.rw.emit1(node.op, [x, *rest], {**node.attrs, "data_format": "channels_first"}, node.name)
        self.set(node, y, to_channels_last(rank))
        return True

    def transpose(self, node: Node) -> bool:
        physical, perm = self.rep(node.inputs[0])
        self.set(node, physical, compose(perm, tuple(node.attrs["perm"])))
        return True

    def _common_perm(self, node: Node) -> Perm:
        perms = {self.rep(v)[1] for v in node.inputs if self.rep(v)[1] is not None}
        if len(perms) != 1 or not all(self.sinkable(v) for v in node.inputs if self.rep(v)[1] is not None):
            return None
        return perms.pop()

    def elementwise(self, node: Node) -> bool:
        perm = self._common_perm(node)
        if perm is None:
            return False
        rank = len(perm)
        inputs = []
        for old in node.inputs:
            physical, p = self.rep(old)
            if p is not None:
                if physical.type.rank != rank:
                    return False
                inputs.append(physical)
                continue
            array = self.rw.constant(physical)
            if array is None or array.ndim > rank:
                return False
            if array.ndim:
                array = np.transpose(array.reshape((1,) * (rank - array.ndim) + array.shape), inverse(perm))
            inputs.append(physical if not array.ndim else self.rw.literal(np.ascontiguousarray(array), node.name))
        y = self.rw.emit(node.op, inputs, node.attrs, node.name)
        if len(y) != 1 or y[0].type.rank != rank:
            return False
        self.set(node, y[0], perm)
        return True

    def reduction(self, node: Node, op: OpDef) -> bool:
        physical, perm = self.rep(node.inputs[0])
        if perm is None or not self.sinkable(node.inputs[0]):
            return False
        rank = len(perm)
        keepdims = node.attrs["keepdims"]
        if op.axis is not None:
            if node.attrs[op.axis] is None:  # the index into the flattened input depends on the layout
                return False
            axes = (normalize_axis(node.attrs[op.axis], rank, node.op),)
            attrs = {**node.attrs, op.axis: perm[axes[0]]}
        else:
            axes = normalize_axes(node.attrs[op.axes], rank, node.op)
            attrs = {**node.attrs, op.axes: tuple(sorted(perm[a] for a in axes))}
        y = self.rw.emit1(node.op, [physical], attrs, node.name)
        if keepdims:
            self.set(node, y, perm)
            return True
        kept = [i for i in range(rank) if i not in axes]
        physical_kept = sorted(perm[i] for i in kept)
        self.set(node, y, compose(None, tuple(physical_kept.index(perm[i]) for i in kept)) if kept else None)
        return True

    def along_axis(self, node: Node, op: OpDef) -> bool:
        """An op along one axis (softmax, concatenate, batch normalization): the inputs of the first one's rank
        share one transpose and stay transposed, the others (per-channel statistics) are read as they are."""
        rank = node.inputs[0].type.rank
        carried = [v for v in node.inputs if v.type.rank == rank]
        perms = {self.rep(v)[1] for v in carried}
        if (len(node.outputs) != 1 or node.outputs[0].type.rank != rank or len(perms) != 1 or None in perms
                or not all(self.sinkable(v) for v in carried)):
            return False
        perm = perms.pop()
        axis = perm[normalize_axis(node.attrs[op.axis], rank, node.op)]
        inputs = [self.rep(v)[0] if v.type.rank == rank else self.logical(v, node.name) for v in node.inputs]
        self.set(node, self.rw.emit1(node.op, inputs, {**node.attrs, op.axis: axis}, node.name), perm)
        return True

    def along_axes(self, node: Node, op: OpDef) -> bool:
        """An op over several axes (layer normalization, resize): only when the renumbered axes keep their order,
        so attributes paired with them hold, and, where more inputs are laid out along them (scale, offset), stay
        the trailing ones."""
        physical, perm = self.rep(node.inputs[0])
        if perm is None or not self.sinkable(node.inputs[0]) or len(node.outputs) != 1:
            return False
        rank = len(perm)
        moved = tuple(perm[a] for a in normalize_axes(node.attrs[op.axes], rank, node.op))
        if list(moved) != sorted(moved) or (len(node.inputs) > 1 and moved != tuple(range(rank - len(moved), rank))):
            return False
        rest = [self.logical(v, node.name) for v in node.inputs[1:]]
        self.set(node, self.rw.emit1(node.op, [physical, *rest], {**node.attrs, op.axes: moved}, node.name), perm)
        return True

    def per_axis(self, node: Node, op: OpDef) -> bool:
        """An op with one attribute entry per axis (pad, slice): the entries permuted."""
        physical, perm = self.rep(node.inputs[0])
        if perm is None or not self.sinkable(node.inputs[0]) or len(node.outputs) != 1:
            return False
        if any(len(node.attrs[k]) != len(perm) for k in op.per_axis):
            return False
        inv = inverse(perm)
        attrs = {**node.attrs, **{k: tuple(node.attrs[k][inv[i]] for i in range(len(perm))) for k in op.per_axis}}
        self.set(node, self.rw.emit1(node.op, [physical], attrs, node.name), perm)
        return True

    def flatten(self, node: Node) -> bool:
        """A transposed (batch, …) value flattened to (batch, n) and read only as matmul's left operand against
        constant (n, m) kernels: flatten the physical layout; each matmul takes its kernel's rows permuted."""
        physical, perm = self.rep(node.inputs[0])
        out = node.outputs[0].type
        if perm is None or perm[0] != 0 or out.rank != 2 or not isinstance(out.shape[1], int):
            return False
        logical = node.inputs[0].type.shape[1:]
        if not all(isinstance(d, int) for d in logical) or int(np.prod(logical)) != out.shape[1]:
            return False
        for user in self.users.get(node.outputs[0], []):
            if user.op != "matmul" or user.inputs[0] is not node.outputs[0] or user.inputs[1] is node.outputs[0]:
                return False
            kernel = self.rw.constant(self.rep(user.inputs[1])[0])
            if kernel is None or kernel.ndim != 2:
                return False
        if node.outputs[0] in set(self.rw.source.results()):
            return False
        inner = tuple(p - 1 for p in perm[1:])
        rows = np.transpose(np.arange(out.shape[1]).reshape(logical), inverse(inner)).reshape(-1)
        flat = self.rw.emit1("reshape", [physical], node.attrs, node.name)
        self.flattened[node.outputs[0]] = (flat, rows)
        return True

    def matmul(self, node: Node) -> bool:
        if node.inputs[0] not in self.flattened:
            return False
        flat, rows = self.flattened[node.inputs[0]]
        kernel = self.rw.constant(self.rep(node.inputs[1])[0])
        permuted = self.rw.literal(np.ascontiguousarray(kernel[rows]), node.name)
        self.set(node, self.rw.emit1("matmul", [flat, permuted], {}, node.name), None)
        return True

    def handle(self, node: Node) -> bool:
        """Carries the transposes through `node` by its traits; False to copy it in the logical layout."""
        op = get_op(node.op)
        if op.has(DATA_FORMAT):
            return self.window(node)
        if node.op == "transpose":
            return self.transpose(node)
        if op.has(REDUCTION):
            return self.reduction(node, op)
        if op.has(ELEMENTWISE):
            return len(node.outputs) == 1 and bool(node.inputs) and self.elementwise(node)
        if op.has(LAYOUT_TRANSPARENT):
            if op.per_axis:
                return self.per_axis(node, op)
            if op.axis is not None:
                return self.along_axis(node, op)
            if op.axes is not None:
                return self.along_axes(node, op)
            return False
        if node.op == "reshape":
            return self.flatten(node)
        if node.op == "matmul":
            return self.matmul(node)
        return False

    def visit(self, node: Node) -> None:
        if not self.handle(node):
            self.copy(node)

    def finish(self) -> PassResult:
        for old in self.rw.source.results():
            self.rw.replace(old, self.logical(old))
        return self.rw.result()


@register_pass("layout")
def layout_transposes(graph: Graph, *, param_values: Mapping[str, Any] | None = None) -> PassResult:
    layout = _Layout(graph, param_values)
    for node in graph.nodes:
        layout.visit(node)
    return layout.finish()
