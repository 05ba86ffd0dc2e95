"""Training batch normalization's closed-form gradient against autodiff of the ops it replaces (Keras' moments and
batch_normalization), for every output's cotangent."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kgraph.lowering.jax.normalization import normalize_batch


def _composed(x, scale, offset, axis, epsilon):
    axes = tuple(i for i in range(x.ndim) if i != axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    mean = jnp.mean(x, axes, keepdims=True)
    variance = jnp.mean(jnp.square(x - mean), axes, keepdims=True)
    outputs = (x - mean) * jax.lax.rsqrt(variance + epsilon) * scale.reshape(shape) + offset.reshape(shape)
    return outputs, mean.reshape(-1), variance.reshape(-1)


def _loss(fn, weights):
    """Every output enters the loss with its own weights, so each cotangent is checked."""
    def loss(x, scale, offset):
        outputs, mean, variance = fn(x, scale, offset)
        return (outputs * weights[0]).sum() + (mean * weights[1]).sum() + (variance * weights[2]).sum()
    return loss


@pytest.mark.parametrize("shape,axis", [((16, 5, 5, 3), 3), ((16, 3, 5, 5), 1), ((32, 4), -1), ((8, 6, 4), 1)])
def test_gradient_equals_autodiff_of_the_composed_ops(shape, axis):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(2.0, 3.0, shape), "float32")
    channels = shape[axis]
    scale = jnp.asarray(rng.uniform(0.5, 1.5, channels), "float32")
    offset = jnp.asarray(rng.normal(size=channels), "float32")
    weights = (rng.normal(size=shape), rng.normal(size=channels), rng.normal(size=channels))
    ours = _loss(lambda *a: normalize_batch(*a, axis % len(shape), 1e-3), weights)
    reference = _loss(lambda *a: _composed(*a, axis % len(shape), 1e-3), weights)
    np.testing.assert_allclose(ours(x, scale, offset), reference(x, scale, offset), rtol=1e-5)
    for got, expected in zip(jax.grad(ours, (0, 1, 2))(x, scale, offset),
                             jax.grad(reference, (0, 1, 2))(x, scale, offset)):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
