"""JAX rules for image ops: `jax.image.resize` without antialiasing, as Keras' JAX backend calls it."""

import jax

from kgraph.ir.shapes import normalize_axis
from kgraph.lowering.jax.registry import jax_rule

@jax_rule("resize")
def _resize(x, size, axes, interpolation, crop):
    axes = [normalize_axis(a, x.ndim, "resize") for a in axes]
    if crop is not None:
        top, left, height, width = crop
        x = jax.lax.slice_in_dim(x, top, top + height, axis=axes[0])
        x = jax.lax.slice_in_dim(x, left, left + width, axis=axes[1])
    shape = list(x.shape)
    shape[axes[0]], shape[axes[1]] = size
    if tuple(shape) == x.shape:
        return x
    return jax.image.resize(x, shape, method=interpolation, antialias=False)
