"""JAX rules for normalization ops, in the order of operations Keras' JAX backend uses (`x * inv + res`)."""

import jax
import jax.numpy as jnp

from kgraph.ir.shapes import normalize_axes, normalize_axis
from kgraph.lowering.jax.registry import jax_rule


def _scale_and_shift(x, mean, variance, scale, offset, epsilon):
    inv = jax.lax.rsqrt(variance + epsilon) * scale
    return x * inv + (-mean * inv + offset)


@jax_rule("batch_normalization")
def _batch_normalization(x, mean, variance, scale, offset, axis, epsilon):
    shape = [1] * x.ndim
    shape[normalize_axis(axis, x.ndim)] = -1
    mean, variance, scale, offset = (jnp.reshape(p, shape) for p in (mean, variance, scale, offset))
    return _scale_and_shift(x, mean, variance, scale, offset, epsilon)


@jax_rule("layer_normalization")
def _layer_normalization(x, scale, offset, axis, epsilon):
    axes = normalize_axes(axis, x.ndim)
    shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
    mean = jnp.mean(x, axes, keepdims=True)
    variance = jnp.var(x, axes, keepdims=True)
    return _scale_and_shift(x, mean, variance, jnp.reshape(scale, shape), jnp.reshape(offset, shape), epsilon)


@jax_rule("group_normalization")
def _group_normalization(x, scale, offset, groups, axis, epsilon):
    axis = normalize_axis(axis, x.ndim)
    grouped_shape = x.shape[:axis] + (groups, x.shape[axis] // groups) + x.shape[axis + 1:]
    grouped = jnp.reshape(x, grouped_shape)
    reduce_axes = tuple(i for i in range(1, grouped.ndim) if i != axis)
    mean = jnp.mean(grouped, reduce_axes, keepdims=True)
    variance = jnp.var(grouped, reduce_axes, keepdims=True)
    param_shape = [1] * grouped.ndim
    param_shape[axis], param_shape[axis + 1] = groups, x.shape[axis] // groups
    scale, offset = jnp.reshape(scale, param_shape), jnp.reshape(offset, param_shape)
    return jnp.reshape(_scale_and_shift(grouped, mean, variance, scale, offset, epsilon), x.shape)
