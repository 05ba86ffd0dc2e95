"""JAX rules for neural-network ops."""

import jax

from kgraph.lowering.jax.registry import jax_rule


@jax_rule("softmax")
def _softmax(x, axis):
    return jax.nn.softmax(x, axis=axis)


@jax_rule("log_softmax")
def _log_softmax(x, axis):
    return jax.nn.log_softmax(x, axis=axis)


@jax_rule("one_hot")
def _one_hot(x, num_classes, axis, dtype):
    return jax.nn.one_hot(x, num_classes, axis=axis, dtype=dtype)
