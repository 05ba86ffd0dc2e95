"""Turns a Graph into a pure JAX function by running each node's rule in topological order."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from kgraph.ir.graph import Graph
from kgraph.ir.registry import get_op
from kgraph.lowering.jax.registry import get_rule


class GraphFunction:
    """`fn(params, inputs, rng, seeds)` → (outputs, losses, updates), pure, so it can be jitted and differentiated.

    `params` maps parameter names to arrays, `inputs` follows `graph.inputs`, `rng` is a uint32[2] key
    (needed only when the graph reads one: `needs_rng`), `updates` maps parameter names to new state.
    `seeds` holds the random ops' own seeds (`self.seeds`, one per op in node order, the default): a compiled
    step takes them as an argument, so its program is the same whatever seeds a process drew for its layers.
    """

    def __init__(self, graph: Graph):
        self.graph = graph
        drawing = [n for n in graph.nodes if get_op(n.op).random and n.attrs.get("seed") is not None]
        slots = {id(n): i for i, n in enumerate(drawing)}
        self.seeds = np.array([n.attrs["seed"] & 0xFFFFFFFF for n in drawing], np.uint32)
        self._plan = [(get_rule(n.op), n.inputs, n.attrs, n.outputs, slots.get(id(n))) for n in graph.nodes]
        self.param_names = [p.name for p in graph.params]
        self.needs_rng = graph.rng is not None

    def __call__(self, params: dict[str, Any], inputs: Sequence[Any], rng: Any = None, seeds: Any = None):
        graph = self.graph
        env = {v: params[v.name] for v in graph.params}
        if len(inputs) != len(graph.inputs):
            raise ValueError(f"graph {graph.name!r} takes {len(graph.inputs)} inputs, got {len(inputs)}")
        env.update(zip(graph.inputs, inputs))
        if self.needs_rng:
            if rng is None:
                raise ValueError(f"graph {graph.name!r} has random ops and needs an rng key")
            env[graph.rng] = rng
        seeds = self.seeds if seeds is None else seeds
        for rule, node_inputs, attrs, outputs, slot in self._plan:
            if slot is not None:
                attrs = {**attrs, "seed": seeds[slot]}
            result = rule(*(env[v] for v in node_inputs), **attrs)
            if len(outputs) == 1:
                env[outputs[0]] = result
            else:
                env.update(zip(outputs, result))
        return (
            [env[v] for v in graph.outputs],
            [env[v] for v in graph.losses],
            {name: env[v] for name, v in graph.updates.items()},
        )


def lower_to_jax(graph: Graph) -> GraphFunction:
    return GraphFunction(graph)
