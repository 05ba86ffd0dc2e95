"""JAX rules for attention ops."""

import jax.numpy as jnp

from kgraph.lowering.jax.registry import jax_rule


@jax_rule("causal_mask")
def _causal_mask(x):
    return jnp.tril(jnp.ones(x.shape[-2:], dtype=bool))
