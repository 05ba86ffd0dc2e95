"""JAX rules for linear algebra ops."""

import jax.numpy as jnp

from kgraph.lowering.jax.registry import jax_rule


@jax_rule("matmul")
def _matmul(a, b):
    return jnp.matmul(a, b)
