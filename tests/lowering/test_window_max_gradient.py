"""Max pooling's hand-written gradient against autodiff of `lax.reduce_window`: the same values, ties included."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from kgraph.lowering.jax.convolution import window_max

CASES = [  # input shape, window, strides, padding
    ((4, 26, 26, 8), (1, 2, 2, 1), (1, 2, 2, 1), "VALID"),
    ((4, 27, 27, 8), (1, 3, 3, 1), (1, 2, 2, 1), "SAME"),
    ((4, 27, 27, 8), (1, 3, 3, 1), (1, 2, 2, 1), "VALID"),
    ((4, 9, 8), (1, 3, 1), (1, 1, 1), "SAME"),
    ((2, 3, 7, 7), (1, 1, 2, 2), (1, 1, 2, 2), "SAME"),
    ((2, 5, 6, 7, 3), (1, 2, 2, 2, 1), (1, 1, 2, 1, 1), "VALID"),
]


def _weighted_sum(pool):
    """A loss whose gradient differs between neighbouring output elements, so a misrouted gradient shows; small
    integers, so the sums where windows overlap are exact in bfloat16 too, in any order."""
    def loss(x):
        y = pool(x)
        return (y * (jnp.arange(y.size) % 7 + 1).astype(y.dtype).reshape(y.shape)).sum()
    return loss


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("shape,window,strides,padding", CASES)
def test_gradient_equals_autodiff_of_reduce_window(shape, window, strides, padding, dtype):
    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal(shape), 0)  # ReLU'd: many windows tie at 0
    x[..., 0] = 1.0  # windows whose every element ties
    x = jnp.asarray(x, dtype)
    reference = _weighted_sum(lambda v: lax.reduce_window(v, -jnp.inf, lax.max, window, strides, padding))
    ours = _weighted_sum(lambda v: window_max(v, window, strides, padding))
    np.testing.assert_array_equal(jax.jit(ours)(x), jax.jit(reference)(x))
    np.testing.assert_array_equal(jax.jit(jax.grad(ours))(x), jax.jit(jax.grad(reference))(x))
