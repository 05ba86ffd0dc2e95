"""Helpers of the pass tests: random inputs for a graph, its outputs through JAX and ONNX Runtime, and the check
every pass must pass: the same outputs before and after it."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from kgraph.export import trace_inference
from kgraph.ir import Graph
from kgraph.ir.passes import PassManager
from kgraph.lowering.jax import lower_to_jax
from kgraph.lowering.onnx import lower_to_onnx
from kgraph.lowering.onnx.cleanup import clean_up

RTOL = ATOL = 1e-5


def inputs_for(graph: Graph, rng: np.random.Generator, batch: int = 3) -> list[np.ndarray]:
    arrays = []
    for value in graph.inputs:
        shape = tuple(d if isinstance(d, int) else (batch if d == "batch" else 5) for d in value.type.shape)
        if value.dtype.startswith("int"):
            arrays.append(rng.integers(0, 10, shape).astype(value.dtype))
        else:
            arrays.append(rng.standard_normal(shape).astype(value.dtype))
    return arrays


def jax_outputs(graph: Graph, params: dict, inputs: list) -> list[np.ndarray]:
    outputs, _, _ = lower_to_jax(graph)({p.name: params[p.name] for p in graph.params}, inputs)
    return [np.asarray(o) for o in outputs]


def onnx_outputs(graph: Graph, params: dict, inputs: list, opset: int = 17) -> list[np.ndarray]:
    model = clean_up(lower_to_onnx(graph, {p.name: params[p.name] for p in graph.params}, opset=opset))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {v.name: x for v, x in zip(graph.inputs, inputs)})


def assert_close(got: list, expected: list, what: str = "") -> None:
    assert len(got) == len(expected), what
    for g, e in zip(got, expected):
        assert g.shape == e.shape, f"{what}: shape {g.shape} != {e.shape}"
        np.testing.assert_allclose(g, e, rtol=RTOL, atol=ATOL, err_msg=what)


def run_passes(graph: Graph, names, **options) -> Graph:
    """The passes `names` over `graph`, verifying the IR after each."""
    return PassManager(list(names), verify=True, **options).run(graph)


def check_preserves(graph: Graph, names, params: dict | None = None, rng=None, frozen: bool = True, **options):
    """Runs passes `names` (weights frozen unless `frozen=False`) and asserts the JAX outputs do not move; returns
    the new graph."""
    params = params or {}
    rng = rng or np.random.default_rng(0)
    inputs = inputs_for(graph, rng)
    before = jax_outputs(graph, params, inputs)
    after_graph = run_passes(graph, names, **({"param_values": params} if frozen else {}), **options)
    assert_close(jax_outputs(after_graph, params, inputs), before, f"passes {list(names)} on {graph.name}")
    return after_graph


def model_graph(model) -> tuple[Graph, dict]:
    """A kgraph Model's inference graph and its weights by parameter name."""
    program = trace_inference(model)
    return program.graph, {name: variable.numpy() for name, variable in program.variables.items()}


def randomize(model, rng: np.random.Generator) -> None:
    """Random weights, variances positive, so no bias or statistic is an identity that folds away."""
    weights = []
    for variable in model.weights:
        shape = tuple(variable.shape)
        if "variance" in variable.path:
            weights.append(rng.uniform(0.5, 1.5, shape).astype(variable.dtype))
        else:
            weights.append((rng.standard_normal(shape) * 0.3).astype(variable.dtype))
    model.set_weights(weights)


def ops(graph: Graph) -> list[str]:
    return [n.op for n in graph.nodes]
