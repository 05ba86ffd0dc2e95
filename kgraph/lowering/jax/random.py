"""JAX rules for random ops: each folds its own `seed` into the step's key, so draws are independent."""

import jax
import jax.numpy as jnp

from kgraph.lowering.jax.registry import jax_rule


@jax_rule("dropout")
def _dropout(x, key, rate, seed, noise_shape):
    if rate == 0.0:
        return x
    shape = x.shape if noise_shape is None else tuple(x.shape[i] if d is None else d for i, d in enumerate(noise_shape))
    keep = jax.random.bernoulli(jax.random.fold_in(key, seed), 1.0 - rate, shape)
    return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))
