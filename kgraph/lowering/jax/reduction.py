"""JAX rules for reductions."""

import jax
import jax.numpy as jnp

from kgraph.lowering.jax.registry import jax_rule

_REDUCE = {"sum": jnp.sum, "mean": jnp.mean, "max": jnp.max, "min": jnp.min, "prod": jnp.prod,
           "logsumexp": jax.scipy.special.logsumexp}
for _op, _fn in _REDUCE.items():
    jax_rule(_op)(lambda x, axis, keepdims, _fn=_fn: _fn(x, axis=_axes(axis), keepdims=keepdims).astype(x.dtype))


def _axes(axis):
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


@jax_rule("argmax")
def _argmax(x, axis, keepdims):
    return jnp.argmax(x, axis=axis, keepdims=keepdims).astype("int32")


@jax_rule("argmin")
def _argmin(x, axis, keepdims):
    return jnp.argmin(x, axis=axis, keepdims=keepdims).astype("int32")
