"""JAX rules for linear algebra ops."""

import jax.numpy as jnp

from kgraph.lowering.jax.registry import jax_rule


@jax_rule("matmul")
def _matmul(a, b):
    return jnp.matmul(a, b)


@jax_rule("matmul_integer")
def _matmul_integer(a, b):
    return jnp.matmul(a, b, preferred_element_type=jnp.int32)
