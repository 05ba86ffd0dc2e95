"""Rematerialization (gradient checkpointing): `kgraph.remat` and `kgraph.RematScope`, as in Keras 3.

While a model is traced, a rematerialized function or layer call records its nodes into a `remat` region of the IR
graph (a sub-Graph); the JAX lowering runs the region under `jax.checkpoint`, so the gradient recomputes the
region's activations instead of storing them. On JAX tracers (a custom compiled step, `jax.grad`) the function
runs under `jax.checkpoint` directly; on concrete arrays there is no gradient to save memory for and it just runs.
ONNX export inlines regions.
"""

from __future__ import annotations

import functools
import math
from collections import namedtuple
from typing import Callable

import jax

from kgraph import context
from kgraph.ir.passes import eliminate_dead_code
from kgraph.ops.control_flow import _SubgraphTrace
from kgraph.symbolic_scope import in_symbolic_scope
from kgraph.tracing import SymbolicTensor, Trace, current_trace

__all__ = ["RematScope", "get_current_remat_mode", "remat", "rematerialized_call"]

RematMode = namedtuple("RematMode", ["mode", "output_size_threshold", "layer_names"])
_MODES = ("full", "activations", "larger_than", "list_of_layers", None)


class RematScope:
    """A context manager for enabling rematerialization: layers created inside it recompute their activations in
    the backward pass instead of storing them, trading computation for memory.

    Args:
        mode: `"full"` (every layer), `"activations"` (the activation functions of layers that have one),
            `"larger_than"` (layers whose output has more than `output_size_threshold` elements, the batch
            dimension counted as 1), `"list_of_layers"` (the layers named in `layer_names`), or `None` (off).
        output_size_threshold: The threshold of the `"larger_than"` mode.
        layer_names: The layer names of the `"list_of_layers"` mode.
    """

    def __init__(self, mode: str | None = "full", output_size_threshold: int = 1024,
                 layer_names: list[str] | None = None):
        if mode not in _MODES:
            raise ValueError(f"Invalid mode '{mode}'. Supported modes are: 'full', 'activations', 'larger_than', "
                             "'list_of_layers', or  None.")
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = layer_names or []

    def __enter__(self) -> "RematScope":
        context.current().remat_scopes.append(self)
        return self

    def __exit__(self, *exc) -> None:
        context.current().remat_scopes.remove(self)


def get_current_remat_mode() -> RematMode | None:
    """The innermost open `RematScope`'s settings, or None outside every scope."""
    scopes = context.current().remat_scopes
    if not scopes:
        return None
    scope = scopes[-1]
    return RematMode(scope.mode, scope.output_size_threshold, scope.layer_names)


class _RegionTrace(_SubgraphTrace):
    """The trace of a remat region: random ops draw from the enclosing graph's key and seed sequence, so a
    rematerialized layer draws the numbers it draws without remat."""

    def __init__(self, outer: Trace, name: str):
        super().__init__(name)
        self.outer = outer

    def rng(self) -> SymbolicTensor:
        return SymbolicTensor(self, self._as_value(self.outer.rng()))

    def next_seed(self) -> int:
        return self.outer.next_seed()


def _output_size(tensors: list[SymbolicTensor]) -> int:
    return sum(math.prod(d or 1 for d in t.shape) for t in tensors)


def _record_region(fn: Callable, args: tuple, kwargs: dict, outer: Trace, threshold: int | None):
    """Traces `fn(*args, **kwargs)` into a `remat` node of `outer`; returns its outputs as `outer`'s tensors.

    The region's results are its outputs, their masks, its added losses and its variable updates; the last two
    are handed to `outer`. With `threshold`, a region whose outputs have that many elements or fewer is recorded
    inline instead.
    """
    leaves, structure = jax.tree_util.tree_flatten((args, kwargs))
    symbolic = [i for i, x in enumerate(leaves) if isinstance(x, SymbolicTensor)]
    with _RegionTrace(outer, f"{getattr(fn, '__name__', 'remat')}_remat") as trace:
        inner = list(leaves)
        for n, i in enumerate(symbolic):
            inner[i] = trace.input(leaves[i].type, f"input_{n}")
        inner_args, inner_kwargs = jax.tree_util.tree_unflatten(structure, inner)
        results = fn(*inner_args, **inner_kwargs)
        out_leaves, out_structure = jax.tree_util.tree_flatten(results)
        outs = [x for x in out_leaves if isinstance(x, SymbolicTensor) and x.trace is trace]
        masks = [getattr(x, "_keras_mask", None) for x in outs]
        masks = [m if isinstance(m, SymbolicTensor) and m.trace is trace else None for m in masks]
        graph = trace.graph
        losses, updates = list(graph.losses), dict(graph.updates)
        graph.outputs = ([x.ir_value for x in outs] + [m.ir_value for m in masks if m is not None] + losses
                         + list(updates.values()))
        graph.losses, graph.updates = [], {}
    graph = eliminate_dead_code(graph)
    captured = [trace.captured[p.name] if p.name in trace.captured else trace.variables[p.name].value
                for p in graph.params]
    inputs = [leaves[i] for i in symbolic] + captured
    if threshold is not None and _output_size(outs) <= threshold:
        values = _inline(outer, graph, inputs)
    else:
        values = outer.emit("remat", inputs, {"body": graph}) if graph.outputs else []
    values = iter(values if isinstance(values, list) else [values])
    replaced = {id(x): next(values) for x in outs}
    for x, mask in zip(outs, masks):
        if mask is not None:
            replaced[id(x)]._keras_mask = next(values)
    for _ in losses:
        outer.add_loss(next(values))
    for name in updates:
        outer.write_variable(trace.variables[name], next(values))
    return jax.tree_util.tree_unflatten(out_structure, [replaced.get(id(x), x) for x in out_leaves])


def _inline(outer: Trace, graph, inputs: list) -> list[SymbolicTensor]:
    """Records `graph`'s nodes into `outer` on `inputs` (its inputs, then its params); returns its outputs."""
    env = dict(zip(list(graph.inputs) + list(graph.params), inputs))
    for node in graph.nodes:
        results = outer.emit(node.op, [env[v] for v in node.inputs], node.attrs)
        env.update(zip(node.outputs, results if isinstance(results, list) else [results]))
    return [env[v] for v in graph.outputs]


def _checkpointed(fn: Callable, args: tuple, kwargs: dict, threshold: int | None = None):
    """`fn` under `jax.checkpoint`, its array arguments traced and the others (flags, layers) held static; with
    `threshold`, only when its outputs have more elements than that."""
    leaves, structure = jax.tree_util.tree_flatten((args, kwargs))
    dynamic = [i for i, x in enumerate(leaves) if isinstance(x, jax.Array)]

    def region(*arrays):
        filled = list(leaves)
        for i, array in zip(dynamic, arrays):
            filled[i] = array
        region_args, region_kwargs = jax.tree_util.tree_unflatten(structure, filled)
        return fn(*region_args, **region_kwargs)

    arrays = [leaves[i] for i in dynamic]
    if threshold is not None:
        spec = jax.tree_util.tree_leaves(jax.eval_shape(region, *arrays))
        if sum(math.prod(s.shape) for s in spec) <= threshold:
            return fn(*args, **kwargs)
    return jax.checkpoint(region)(*arrays)


def _rematerialize(fn: Callable, args: tuple, kwargs: dict, threshold: int | None = None):
    trace = current_trace()
    leaves = jax.tree_util.tree_leaves((args, kwargs))
    if trace is not None and not in_symbolic_scope() and any(isinstance(x, SymbolicTensor) for x in leaves):
        return _record_region(fn, args, kwargs, trace, threshold)
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        return _checkpointed(fn, args, kwargs, threshold)
    return fn(*args, **kwargs)


def remat(f: Callable) -> Callable:
    """Applies rematerialization to a function: its activations are recomputed in the backward pass instead of
    being stored, trading computation for memory.

    Args:
        f: A callable, typically a computationally expensive part of a layer's `call`.

    Returns:
        A function that computes what `f` computes, rematerialized.
    """

    @functools.wraps(f)
    def rematerialized(*args, **kwargs):
        return _rematerialize(f, args, kwargs)

    return rematerialized


def rematerialized_call(layer, call: Callable) -> Callable:
    """`call` of `layer` as its `RematScope` mode (the one open when the layer was created) rematerializes it."""
    mode = getattr(layer, "_remat_mode", None)
    if mode is None or mode.mode is None:
        return call
    if mode.mode == "full" or (mode.mode == "list_of_layers" and layer.name in mode.layer_names):
        return remat(call)
    if mode.mode == "larger_than":
        return lambda *args, **kwargs: _rematerialize(call, args, kwargs, mode.output_size_threshold)
    if mode.mode == "activations" and getattr(layer, "activation", None) is not None:
        @functools.wraps(call)
        def with_remat_activation(*args, **kwargs):
            activation = layer.activation
            layer.activation = remat(activation)
            try:
                return call(*args, **kwargs)
            finally:
                layer.activation = activation

        return with_remat_activation
    return call
