"""Property tests: on random graphs of elementwise, matmul, reshape, transpose and reduction chains (with repeated
subexpressions, neutral constants and frozen weights), every pass alone and each whole pipeline keep the outputs
within 1e-5 (float32), and the exported graph run by ONNX Runtime matches XLA on the original."""

from __future__ import annotations

import numpy as np
import pytest

from kgraph import ops
from kgraph.ir import Graph, TensorType
from kgraph.ir.passes import EXPORT_PIPELINE, TRAINING_PIPELINE, all_passes
from kgraph.tracing import SymbolicTensor, Trace
from pass_checks import assert_close, inputs_for, jax_outputs, onnx_outputs, run_passes

SEEDS = range(24)
UNARY = ("tanh", "relu", "sigmoid", "negative", "abs", "sin", "softsign")


class _RandomGraph:
    """Grows a graph from one (batch, 4, 6) input by random steps, each keeping every shape valid; every value no
    step reads is an output, so that no step is dead code."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        self.trace = Trace(f"random_{seed}")

    def pick(self, values):
        return values[-1] if self.rng.random() < 0.6 else values[self.rng.integers(len(values))]

    def constant(self, shape, kind=None):
        kind = kind or self.rng.choice(["zeros", "ones", "random"], p=[0.2, 0.2, 0.6])
        array = {"zeros": np.zeros, "ones": np.ones}.get(kind, lambda s: self.rng.uniform(0.5, 1.5, s))(shape)
        return self.trace.constant(np.asarray(array, "float32"))

    def weight(self, shape):
        name = f"w{len(self.params)}"
        self.params[name] = self.rng.standard_normal(shape).astype("float32") / np.sqrt(shape[0])
        return SymbolicTensor(self.trace, self.trace.graph.add_param(TensorType("float32", shape), name))

    def step(self, values: list) -> SymbolicTensor:
        a = self.pick(values)
        shape = a.type.shape
        kind = self.rng.choice(["unary", "constant_operand", "pair", "matmul", "transpose", "reshape", "repeat",
                                "reduce", "softmax", "cast", "constant_chain"])
        if kind == "unary":
            return getattr(ops, str(self.rng.choice(UNARY)))(a)
        if kind == "constant_operand":
            c_shape = [(), shape[-1:], shape[1:]][self.rng.integers(3)]
            op = self.rng.choice(["add", "subtract", "multiply", "divide"])
            return getattr(ops, op)(a, self.constant(tuple(c_shape)))
        if kind == "pair":
            same = [v for v in values if v.type.shape == shape and v is not a]
            b = same[self.rng.integers(len(same))] if same else a
            return getattr(ops, str(self.rng.choice(["add", "multiply", "maximum"])))(a, b)
        if kind == "matmul":
            k = int(self.rng.integers(2, 7))
            w = self.weight((shape[-1], k)) if self.rng.random() < 0.7 else self.constant((shape[-1], k), "random")
            return ops.matmul(a, w)
        if kind == "transpose" and len(shape) >= 2:
            perm = (0, *(1 + self.rng.permutation(len(shape) - 1)))
            t = ops.transpose(a, perm)
            return ops.transpose(t, tuple(np.argsort(perm))) if self.rng.random() < 0.4 else t
        if kind == "reshape" and shape[0] == "batch":
            size = int(np.prod(shape[1:]))
            if len(shape) > 2:
                return ops.reshape(a, (-1, size))
            factors = [f for f in range(2, size) if size % f == 0]
            return ops.reshape(a, (-1, factors[0], size // factors[0])) if factors else ops.tanh(a)
        if kind == "repeat":
            return self.trace.emit(a.ir_value.producer.op, [SymbolicTensor(self.trace, v) for v in
                                                            a.ir_value.producer.inputs],
                                   a.ir_value.producer.attrs) if a.ir_value.producer is not None else ops.abs(a)
        if kind == "reduce":
            return getattr(ops, str(self.rng.choice(["mean", "sum", "max"])))(a, axis=-1, keepdims=True)
        if kind == "softmax":
            return ops.softmax(a, axis=-1)
        if kind == "cast":
            return ops.cast(ops.cast(a, "float64"), "float32")
        c = self.constant(shape[-1:], "random")
        return ops.add(a, ops.tanh(ops.multiply(ops.transpose(ops.reshape(c, (1, -1))), 1.0))[:, 0])

    def build(self) -> tuple[Graph, dict]:
        with self.trace:
            values = [self.trace.input(TensorType("float32", ("batch", 4, 6)), "x")]
            for _ in range(int(self.rng.integers(4, 14))):
                values.append(self.step(values))
            read = {v for node in self.trace.graph.nodes for v in node.inputs}
            self.trace.graph.outputs = [v.ir_value for v in values[1:] if v.ir_value not in read]
        self.trace.graph.verify()
        return self.trace.graph, self.params


@pytest.mark.parametrize("seed", SEEDS)
def test_every_pass_and_pipeline_keeps_random_graphs_outputs(seed):
    graph, params = _RandomGraph(seed).build()
    rng = np.random.default_rng(seed)
    inputs = inputs_for(graph, rng, batch=3)
    expected = jax_outputs(graph, params, inputs)
    for name in sorted(all_passes()):
        if name.startswith("test_"):
            continue
        result = run_passes(graph, [name], param_values=params, batch_size=3)
        assert_close(jax_outputs(result, params, inputs), expected, f"seed {seed}, pass {name!r}")
    trained = run_passes(graph, TRAINING_PIPELINE)
    assert_close(jax_outputs(trained, params, inputs), expected, f"seed {seed}, training pipeline")
    exported = run_passes(graph, EXPORT_PIPELINE, param_values=params)
    assert_close(jax_outputs(exported, params, inputs), expected, f"seed {seed}, export pipeline")
    assert_close(onnx_outputs(exported, params, inputs), expected, f"seed {seed}, ONNX Runtime")
    assert len(exported.nodes) <= len(graph.nodes)


def _random_model(seed: int):
    """A random small Sequential: convolutional layers on an image, or dense ones on features, with normalization,
    activation, dropout and pooling layers mixed in."""
    import kgraph

    L = kgraph.layers
    rng = np.random.default_rng(seed)
    image = rng.random() < 0.6
    layers = [kgraph.Input((8, 8, 3) if image else (6,))]
    spatial = image
    for _ in range(int(rng.integers(2, 7))):
        choices = ["norm", "activation", "dropout"] + (["conv", "conv", "pool", "flatten"] if spatial else ["dense"])
        kind = rng.choice(choices)
        if kind == "conv":
            layers.append(L.Conv2D(int(rng.integers(2, 6)), int(rng.choice([1, 3])), padding="same",
                                   use_bias=bool(rng.random() < 0.7)))
        elif kind == "pool":
            layers.append(L.MaxPooling2D(2, 1, padding="same") if rng.random() < 0.5 else
                          L.AveragePooling2D(2, 1, padding="same"))
        elif kind == "flatten":
            layers.append(L.Flatten() if rng.random() < 0.5 else L.GlobalAveragePooling2D())
            spatial = False
        elif kind == "dense":
            layers.append(L.Dense(int(rng.integers(2, 7)), use_bias=bool(rng.random() < 0.7)))
        elif kind == "norm":
            layers.append(L.BatchNormalization() if rng.random() < 0.6 else L.LayerNormalization())
        elif kind == "activation":
            layers.append(L.Activation(str(rng.choice(["relu", "tanh", "sigmoid", "gelu", "softmax"]))))
        else:
            layers.append(L.Dropout(0.3))
    layers.append(L.Dense(3) if not spatial else L.Conv2D(2, 1))
    return kgraph.Sequential(layers, name=f"random_model_{seed}")


@pytest.mark.parametrize("seed", range(12))
def test_every_pass_and_pipeline_keeps_random_models_outputs(seed):
    from pass_checks import model_graph, randomize

    model = _random_model(seed)
    randomize(model, np.random.default_rng(seed))
    graph, params = model_graph(model)
    inputs = inputs_for(graph, np.random.default_rng(seed), batch=3)
    expected = jax_outputs(graph, params, inputs)
    for name in sorted(all_passes()):
        if not name.startswith("test_"):
            result = run_passes(graph, [name], param_values=params, batch_size=3)
            assert_close(jax_outputs(result, params, inputs), expected, f"{model.name}, pass {name!r}")
    exported = run_passes(graph, EXPORT_PIPELINE, param_values=params)
    assert_close(jax_outputs(exported, params, inputs), expected, f"{model.name}, export pipeline")
    assert_close(onnx_outputs(exported, params, inputs), expected, f"{model.name}, ONNX Runtime")
    assert "batch_normalization" not in [n.op for n in exported.nodes]
