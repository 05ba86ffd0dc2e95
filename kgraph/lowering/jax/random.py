"""JAX rules for random ops: each folds its own `seed` into the step's key, so draws are independent."""

import jax
import jax.numpy as jnp

from kgraph.ir.shapes import evaluate_dim
from kgraph.lowering.jax.registry import jax_rule


@jax_rule("dropout")
def _dropout(x, key, rate, seed, noise_shape):
    if rate == 0.0:
        return x
    shape = x.shape if noise_shape is None else tuple(x.shape[i] if d is None else d for i, d in enumerate(noise_shape))
    keep = jax.random.bernoulli(jax.random.fold_in(key, seed), 1.0 - rate, shape)
    return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))


@jax_rule("random_sample")
def _random_sample(key, *refs, distribution, shape, dtype, low, high, seed):
    shapes = [key.shape] + [r.shape for r in refs]
    size = tuple(evaluate_dim(d, shapes) for d in shape)
    key = key if seed is None else jax.random.fold_in(key, seed)
    if distribution == "normal":
        return jax.random.normal(key, size, dtype) * high + low
    if distribution == "truncated_normal":
        return jax.random.truncated_normal(key, -2.0, 2.0, size, dtype) * high + low
    if distribution == "uniform":
        return jax.random.uniform(key, size, dtype, minval=low, maxval=high)
    return jax.random.randint(key, size, low, high, dtype)
