"""JAX rules for normalization ops, in the order of operations Keras' JAX backend uses (`x * inv + res`)."""

import functools

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


@jax_rule("normalize_batch")
def _normalize_batch(x, scale, offset, axis, epsilon):
    return normalize_batch(x, scale, offset, normalize_axis(axis, x.ndim), epsilon)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def normalize_batch(x, scale, offset, axis: int, epsilon: float):
    """Normalizes `x` by its mean and variance over every axis but `axis`: `(outputs, mean, variance)`, computed as
    Keras' `moments` and `batch_normalization` compute them, with the gradient of `_normalize_batch_backward`."""
    return _normalize_batch_forward(x, scale, offset, axis, epsilon)[0]


def _normalize_batch_forward(x, scale, offset, axis, epsilon):
    axes = tuple(i for i in range(x.ndim) if i != axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    mean = jnp.mean(x, axes, keepdims=True)
    variance = jnp.mean(jnp.square(x - mean), axes, keepdims=True)
    scale = jnp.reshape(scale, shape)
    outputs = _scale_and_shift(x, mean, variance, scale, jnp.reshape(offset, shape), epsilon)
    inv = jax.lax.rsqrt(variance + epsilon)
    return (outputs, jnp.reshape(mean, (-1,)), jnp.reshape(variance, (-1,))), (x, mean, inv, scale)


def _normalize_batch_backward(axis, epsilon, residuals, cotangents):
    """The batch-norm gradient in closed form: two reductions and one elementwise pass, where autodiff of the
    forward ops reduces five times (the residual CNN of tools/bench_fit.py: 15-20% more steps/s on two CPU
    cores). The cotangents of the mean and variance outputs are added, though training only reads them."""
    x, mean, inv, scale = residuals
    d_outputs, d_mean, d_variance = cotangents
    axes = tuple(i for i in range(x.ndim) if i != axis)
    count = x.size // x.shape[axis]
    normalized = (x - mean) * inv
    d_offset = jnp.sum(d_outputs, axes, keepdims=True)
    d_scale = jnp.sum(d_outputs * normalized, axes, keepdims=True)
    d_x = (scale * inv) * (d_outputs - (d_offset + normalized * d_scale) / count)
    d_x = d_x + (jnp.reshape(d_mean, mean.shape) + jnp.reshape(d_variance, mean.shape) * 2.0 * (x - mean)) / count
    return d_x, jnp.reshape(d_scale, (-1,)), jnp.reshape(d_offset, (-1,))


normalize_batch.defvjp(_normalize_batch_forward, _normalize_batch_backward)


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
