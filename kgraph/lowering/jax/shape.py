"""JAX rules for data-movement ops."""

import jax.numpy as jnp

from kgraph.lowering.jax.registry import jax_rule


@jax_rule("reshape")
def _reshape(x, shape):
    return jnp.reshape(x, tuple(x.shape[i] if d == 0 else d for i, d in enumerate(shape)))


@jax_rule("transpose")
def _transpose(x, perm):
    return jnp.transpose(x, perm)


@jax_rule("expand_dims")
def _expand_dims(x, axis):
    return jnp.expand_dims(x, axis)


@jax_rule("squeeze")
def _squeeze(x, axis):
    return jnp.squeeze(x, axis=tuple(axis) if isinstance(axis, (list, tuple)) else axis)


@jax_rule("concatenate")
def _concatenate(*xs, axis):
    return jnp.concatenate(xs, axis=axis)
