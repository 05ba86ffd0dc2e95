"""A model traced into the IR, optimized and lowered to JAX: one Program per mode (training or inference)."""

from __future__ import annotations

from dataclasses import dataclass

from kgraph.ir import Graph, PassManager, TensorType
from kgraph.ir.passes import TRAINING_PIPELINE
from kgraph.lowering.jax import GraphFunction, lower_to_jax
from kgraph.tracing import SymbolicTensor, Trace
from kgraph import tree
from kgraph.ir.types import canonical_dtype


@dataclass
class InputSpec:
    name: str
    type: TensorType


@dataclass
class Program:
    """A traced, optimized and lowered model: the graph, its JAX function and the variable of each parameter."""

    graph: Graph
    fn: GraphFunction
    variables: dict
    output_structure: object


def input_specs_from_model(model) -> list[InputSpec] | None:
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return None
    return [InputSpec(t.name, t.ir_type()) for t in inputs]


def input_specs_from_data(arrays: list) -> list[InputSpec]:
    specs = []
    for i, a in enumerate(arrays):
        shape = ("batch",) + tuple(int(d) for d in a.shape[1:])
        specs.append(InputSpec(f"input_{i}" if len(arrays) > 1 else "input", TensorType(canonical_dtype(a.dtype), shape)))
    return specs


def trace_model(model, specs: list[InputSpec], training: bool, call_structure=None) -> Program:
    """Calls `model` on symbolic inputs inside a Trace and returns the lowered Program.

    `call_structure` (a list/dict of input names, or None for a single tensor) is how the inputs are
    packed for `model.call`; by default Functional models take a list and others the bare tensor.
    """
    with Trace(model.name, root=model) as trace:
        symbols = [trace.input(s.type, s.name) for s in specs]
        if call_structure is None:
            args = symbols[0] if len(symbols) == 1 else symbols
        else:
            by_name = dict(zip([s.name for s in specs], symbols))
            args = tree.map_structure(lambda name: by_name[name], call_structure)
        outputs = model(args, training=training)
        for penalty in model._regularization_losses():
            trace.add_loss(penalty)
        flat = tree.flatten(outputs)
        for out in flat:
            if not isinstance(out, SymbolicTensor):
                raise TypeError(f"Model {model.name!r} returned {out!r} (of type {type(out).__name__}); "
                                "outputs must be tensors computed from the inputs")
        trace.graph.outputs = [o.ir_value for o in flat]
    graph = PassManager(TRAINING_PIPELINE).run(trace.graph)
    return Program(graph, lower_to_jax(graph), {p.name: trace.variables[p.name] for p in graph.params},
                   tree.map_structure(lambda _: None, outputs))
