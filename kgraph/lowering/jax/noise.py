"""JAX rules for noise ops: each folds its own `seed` into the step's key, so draws are independent."""

import jax

from kgraph.lowering.jax.registry import jax_rule


@jax_rule("random_normal_like")
def _random_normal_like(x, key, mean, stddev, seed):
    return jax.random.normal(jax.random.fold_in(key, seed), x.shape, x.dtype) * stddev + mean
