"""JAX rules for array ops: each is the jax.numpy function of the same name."""

import jax.numpy as jnp
import numpy as np

from kgraph.lowering.jax.registry import jax_rule


@jax_rule("take")
def _take(x, indices, axis):
    return jnp.take(x, indices, axis=axis)


@jax_rule("take_along_axis")
def _take_along_axis(x, indices, axis):
    return jnp.take_along_axis(x, indices, axis=axis)


@jax_rule("slice")
def _slice(x, starts, stops, steps):
    return x[tuple(slice(*bounds) for bounds in zip(starts, stops, steps))]


@jax_rule("pad")
def _pad(x, pad_width, mode, constant_value):
    if mode == "constant":
        return jnp.pad(x, pad_width, mode="constant", constant_values=constant_value)
    return jnp.pad(x, pad_width, mode=mode)


@jax_rule("tile")
def _tile(x, repeats):
    return jnp.tile(x, repeats)


@jax_rule("repeat")
def _repeat(x, repeats, axis):
    return jnp.repeat(x, repeats, axis=axis, total_repeat_length=x.shape[axis] * repeats)


@jax_rule("einsum")
def _einsum(*operands, equation):
    return jnp.einsum(equation, *operands)


@jax_rule("broadcast_to")
def _broadcast_to(x, shape):
    return jnp.broadcast_to(x, jnp.broadcast_shapes(x.shape, tuple(shape)))


@jax_rule("split")
def _split(x, sizes, axis):
    pieces = jnp.split(x, np.cumsum(sizes)[:-1].tolist(), axis=axis)
    return pieces[0] if len(pieces) == 1 else pieces


@jax_rule("cumsum")
def _cumsum(x, axis):
    return jnp.cumsum(x, axis=axis)
