"""The differential harness of the applications: one architecture built in Keras 3 and in kgraph, given the same
weights, compared on the same images, trained one step and exported to ONNX."""

from __future__ import annotations

import contextlib
import os
import re

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np

import kgraph.applications
from kgraph.layers.layer import snake_case
from kgraph.layers.op_layer import OpLayer


def keras_applications():
    """Keras 3's `keras.applications`."""
    import keras

    return keras.applications


@contextlib.contextmanager
def zero_initialized_keras():
    """Keras builds its layers with zeros instead of random draws inside the block: the weights are overwritten
    before any comparison, and Keras' JAX backend would otherwise compile one initializer per weight shape.
    Keras' random functions are restored afterwards, so later tests draw as Keras does."""
    from keras.src.backend import random as keras_random

    def zeros(shape, *args, dtype=None, **kwargs):
        return np.zeros(shape, dtype=dtype or "float32")

    names = ("normal", "uniform", "truncated_normal")
    saved = {name: getattr(keras_random, name) for name in names}
    for name in names:
        setattr(keras_random, name, zeros)
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(keras_random, name, fn)


def build_pair(name: str, input_shape: tuple, classes: int = 3, **kwargs):
    """The architecture `name` built with `weights=None` in Keras and in kgraph."""
    args = dict(weights=None, input_shape=input_shape, classes=classes, classifier_activation=None, **kwargs)
    with zero_initialized_keras():
        keras_model = getattr(keras_applications(), name)(**args)
    return keras_model, getattr(kgraph.applications, name)(**args)


def layer_names(model) -> list[str]:
    """The names of the model's layers, a default name ("conv2d_7") as its class's ("conv2d": both frameworks
    number those with process-wide counters); kgraph lists the operators applied to tensors (`x + 3.0`) as layers
    where Keras keeps them as bare operations, so those are left out."""
    names = []
    for layer in model.layers:
        if not isinstance(layer, OpLayer):
            default = snake_case(type(layer).__name__)
            names.append(default if re.fullmatch(rf"{default}(_\d+)?", layer.name) else layer.name)
    return names


def weight_layout(model) -> list[tuple[str, tuple]]:
    """Each weight's whole variable path (name scopes included) and shape, in the model's order (the order
    `get_weights` and legacy `.h5` use). A trailing `_<n>` of a path segment is dropped: Keras numbers unnamed
    weights ("variable_3") and default layer names with process-wide counters, and weight files ignore it."""
    return [(re.sub(r"_\d+(?=/|$)", "", v.path), tuple(v.shape)) for v in model.weights]


def scaled_weights(model, rng: np.random.Generator) -> list[np.ndarray]:
    """Random weights that keep activations of moderate size through a deep network: kernels ~ N(0, 1/fan_in),
    batch-norm variances in [0.5, 1.5], everything else small; integer weights (counts) as they are."""
    weights = []
    for variable, value in zip(model.weights, model.get_weights()):
        shape, path = value.shape, variable.path
        if not np.issubdtype(value.dtype, np.floating):
            weights.append(value)
        elif "variance" in path:
            weights.append(rng.uniform(0.5, 1.5, shape).astype(value.dtype))
        elif len(shape) >= 2:
            fan_in = int(np.prod(shape[:-2])) if "depthwise" in path else int(np.prod(shape[:-1]))
            weights.append((rng.standard_normal(shape) / np.sqrt(max(fan_in, 1))).astype(value.dtype))
        else:
            weights.append((rng.standard_normal(shape) * 0.1).astype(value.dtype))
    return weights


def images(rng: np.random.Generator, batch: int, input_shape: tuple) -> np.ndarray:
    """A batch of random pixels in [0, 255]."""
    return rng.uniform(0, 255, (batch,) + tuple(input_shape)).astype("float32")


def assert_close(got, expected, tol: float = 1e-4, what: str = "") -> None:
    """`got` within `tol` of `expected`, relative to the larger of 1 and `expected`'s magnitude."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    scale = max(1.0, float(np.abs(expected).max()))
    error = float(np.abs(got - expected).max())
    assert error <= tol * scale, f"{what}: max abs error {error:.3g} > {tol} × {scale:.3g}"
