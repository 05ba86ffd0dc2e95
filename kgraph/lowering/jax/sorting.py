"""JAX rules for sorting ops."""

import jax
import jax.numpy as jnp

from kgraph.lowering.jax.registry import jax_rule


@jax_rule("sort")
def _sort(x, axis):
    return jnp.sort(x, axis=axis)


@jax_rule("argsort")
def _argsort(x, axis):
    return jnp.argsort(x, axis=axis, stable=True).astype("int32")


@jax_rule("top_k")
def _top_k(x, k, sorted):
    values, indices = jax.lax.top_k(x, k)
    return values, indices.astype("int32")


@jax_rule("cumprod")
def _cumprod(x, axis):
    return jnp.cumprod(x, axis=axis)
