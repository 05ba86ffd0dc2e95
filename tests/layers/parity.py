"""One harness for layer parity: kgraph's XLA path, ONNX Runtime on the exported file, and Keras 3.

`check_layer(factory, inputs)` builds a Functional model around `factory(keras)` and `factory(kgraph)`,
copies Keras' weights into kgraph's, then compares outputs (inference, and training when deterministic),
the ONNX export, and the gradients of the sum of outputs with respect to the trainable weights.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

import jax
import keras
import numpy as np

import kgraph
from kgraph.program import input_specs_from_model, trace_model


def functional_pair(factory: Callable, inputs: Sequence[np.ndarray], call_kwargs: dict | None = None):
    """The same one-layer Functional model in Keras and in kgraph, with Keras' weights in both."""
    models = []
    for lib in (keras, kgraph):
        tensors = [lib.Input(shape=x.shape[1:], dtype=str(x.dtype)) for x in inputs]
        layer = factory(lib)
        out = layer(tensors[0] if len(tensors) == 1 else tensors, **(call_kwargs or {}))
        models.append(lib.Model(tensors[0] if len(tensors) == 1 else tensors, out))
    theirs, ours = models
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def _flat(outputs) -> list[np.ndarray]:
    return [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


def assert_close(ours, theirs, rtol: float, atol: float, what: str) -> None:
    ours, theirs = _flat(ours), _flat(theirs)
    assert len(ours) == len(theirs), f"{what}: {len(ours)} outputs vs {len(theirs)}"
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


def gradients(ours, theirs, inputs: Sequence[np.ndarray]) -> tuple[list, list]:
    """d(sum of outputs)/d(trainable weights) for both models, in Keras' weight order."""
    program = trace_model(ours, input_specs_from_model(ours), training=False)
    names = {id(v): n for n, v in program.variables.items()}
    trainable = ours.trainable_weights
    fixed = {n: v.value for n, v in program.variables.items() if all(v is not w for w in trainable)}

    def ours_sum(values):
        params = dict(fixed)
        params.update({names[id(v)]: x for v, x in zip(trainable, values) if id(v) in names})
        outputs = program.fn(params, list(inputs), None)[0]
        return sum(o.astype("float32").sum() for o in outputs)

    ours_grads = jax.jit(jax.grad(ours_sum))([v.value for v in trainable])

    def theirs_sum(values):
        outputs, _ = theirs.stateless_call(values, [v.value for v in theirs.non_trainable_variables],
                                           list(inputs) if len(inputs) > 1 else inputs[0], training=False)
        return sum(o.astype("float32").sum() for o in _flat_tensors(outputs))

    theirs_grads = jax.jit(jax.grad(theirs_sum))([v.value for v in theirs.trainable_variables])
    return [np.asarray(g) for g in ours_grads], [np.asarray(g) for g in theirs_grads]


def _flat_tensors(outputs):
    return outputs if isinstance(outputs, (list, tuple)) else [outputs]


def check_layer(factory: Callable, inputs: Sequence[np.ndarray], *, rtol: float = 1e-5, atol: float = 1e-6,
                training: bool = False, onnx: bool = True, grad: bool = True, grad_rtol: float = 1e-4,
                call_kwargs: dict | None = None, tmp_dir: str | None = None) -> kgraph.Model:
    """Asserts kgraph == Keras (inference, and training=True if asked), ONNX == XLA, and gradients agree."""
    ours, theirs = functional_pair(factory, inputs, call_kwargs)
    x = list(inputs) if len(inputs) > 1 else inputs[0]
    expected = theirs.predict(x, verbose=0)
    actual = ours.predict(x, verbose=0)
    assert_close(actual, expected, rtol, atol, "inference: kgraph vs Keras")
    if onnx:
        import tempfile

        folder = tmp_dir or tempfile.mkdtemp(prefix="kgraph-parity-")
        path = os.path.join(folder, "layer.onnx")
        kgraph.export.export_onnx(ours, path)
        served = kgraph.runtime.OnnxModel(path).predict(x)
        assert_close(served, actual, rtol, atol, "ONNX Runtime vs XLA")
    if training:
        assert_close(ours(x, training=True), theirs(x, training=True), rtol, atol, "training: kgraph vs Keras")
    if grad and ours.trainable_weights:
        g_ours, g_theirs = gradients(ours, theirs, inputs)
        assert_close(g_ours, g_theirs, grad_rtol, 1e-5, "gradients: kgraph vs Keras")
    return ours
