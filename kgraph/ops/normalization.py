"""Normalization ops: moments, batch, layer and group normalization, and L_p normalization along axes.

As in Keras, float16 and bfloat16 inputs are normalized in float32 and the result cast back.
"""

from __future__ import annotations

import numpy as np

from kgraph.ir.shapes import normalize_axes
from kgraph.ops.dispatch import apply, convert, dtype_of
from kgraph.ops.numpy import (
    _float, abs, add, clip, divide, maximum, mean, minimum, multiply, ones_like, power, reshape, rsqrt, shape,
    square, squeeze, subtract, sum, zeros_like,
)
from kgraph import config

__all__ = ["batch_normalization", "group_normalization", "layer_normalization", "moments", "normalize"]

_HALF = ("float16", "bfloat16")


def _compute_dtype(x) -> str:
    """float64 stays, every other input is computed in float32 (Keras' `result_type(x.dtype, "float32")`)."""
    return "float64" if dtype_of(x) == "float64" else "float32"


def moments(x, axes, keepdims: bool = False):
    """The mean and (biased) variance of `x` over `axes`; half-precision inputs are reduced in float32.

    Args:
        x: the input tensor.
        axes: an int or a sequence of ints, the axes to reduce.
        keepdims: keep the reduced axes as size-1 dims.
    """
    x = _float(x)
    dtype = dtype_of(x)
    axes = normalize_axes(axes, len(shape(x)), "moments")
    wide = convert(x, "float32") if dtype in _HALF else x
    mu = mean(wide, axis=axes, keepdims=True)
    variance = mean(square(subtract(wide, mu)), axis=axes, keepdims=True)
    if not keepdims:
        mu, variance = squeeze(mu, axes), squeeze(variance, axes)
    if dtype in _HALF:
        limit = float(np.finfo(np.float16).max)
        mu, variance = (convert(clip(v, -limit, limit), dtype) for v in (mu, variance))
    return mu, variance


def batch_normalization(x, mean, variance, axis: int, offset=None, scale=None, epsilon: float = 1e-3):
    """`(x - mean) * rsqrt(variance + epsilon) * scale + offset` with 1-D statistics laid along `axis`.

    Args:
        x: the input tensor.
        mean, variance: 1-D tensors of size `x.shape[axis]`.
        axis: the channel axis of `x`.
        offset, scale: optional 1-D tensors of the same size (default 0 and 1).
        epsilon: added to the variance.
    """
    x = _float(x)
    dtype = dtype_of(x)
    mean, variance = convert(mean, dtype), convert(variance, dtype)
    scale = ones_like(mean) if scale is None else convert(scale, dtype)
    offset = zeros_like(mean) if offset is None else convert(offset, dtype)
    return apply("batch_normalization", x, mean, variance, scale, offset, axis=int(axis), epsilon=float(epsilon))


def normalize_batch(x, axis: int, offset=None, scale=None, epsilon: float = 1e-3):
    """Normalizes `x` by its own mean and variance over every axis but `axis`, as a training batch normalization
    does: `(outputs, mean, variance)`, equal to `moments` followed by `batch_normalization`, in one op whose
    gradient is computed in closed form.

    Args:
        x: a float32 or float64 tensor.
        axis: the channel axis of `x`.
        offset, scale: optional 1-D tensors of size `x.shape[axis]` (default 0 and 1).
        epsilon: added to the variance.
    """
    channels = (shape(x)[axis],)
    dtype = dtype_of(x)
    scale = np.ones(channels, dtype) if scale is None else convert(scale, dtype)
    offset = np.zeros(channels, dtype) if offset is None else convert(offset, dtype)
    return apply("normalize_batch", x, scale, offset, axis=int(axis), epsilon=float(epsilon))


def _filled_along(x, axes: tuple[int, ...], value: float, dtype: str):
    """A tensor of `value` shaped as x's dims at `axes`, what a missing scale or offset stands for."""
    dims = tuple(shape(x)[a] for a in axes)
    if all(d is not None for d in dims):
        return np.full(dims, value, dtype)
    other = tuple(i for i in range(len(shape(x))) if i not in axes)
    reference = mean(x, axis=other) if other else x
    return apply("full_like", reference, value=value, dtype=dtype)


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon: float | None = None, rms_scaling: bool = False):
    """Normalizes each sample over `axis` by its mean and variance, then scales by gamma and shifts by beta.

    Args:
        x: the input tensor.
        gamma, beta: optional scale and offset shaped as x's dims at the (sorted) axes.
        axis: an int or a list of ints.
        epsilon: added to the variance (default `kgraph.config.epsilon()`).
        rms_scaling: Keras' deprecated variant: `x * rsqrt(variance + epsilon) * gamma`, no centering, no beta.
    """
    original = dtype_of(_float(x))
    dtype = _compute_dtype(x)
    x = convert(x, dtype)
    axes = normalize_axes(axis, len(shape(x)), "layer_normalization")
    epsilon = config.epsilon() if epsilon is None else float(epsilon)
    gamma = _filled_along(x, axes, 1.0, dtype) if gamma is None else convert(gamma, dtype)
    if rms_scaling:
        _, variance = moments(x, axes, keepdims=True)
        broadcast = [d if i in axes else 1 for i, d in enumerate(shape(x))]
        outputs = multiply(multiply(x, rsqrt(add(variance, epsilon))), reshape(gamma, broadcast))
    else:
        beta = _filled_along(x, axes, 0.0, dtype) if beta is None else convert(beta, dtype)
        outputs = apply("layer_normalization", x, gamma, beta, axis=axes, epsilon=epsilon)
    return convert(outputs, original)


def group_normalization(x, groups: int, gamma=None, beta=None, axis: int = -1, epsilon: float = 1e-3):
    """Normalizes each sample's groups of channels (along `axis`) by their mean and variance, then applies the
    per-channel gamma and beta.

    Args:
        x: the input tensor; its channel dim must be known and a multiple of `groups`.
        groups: the number of groups.
        gamma, beta: optional per-channel scale and offset.
        axis: the channel axis.
        epsilon: added to the variance.
    """
    original = dtype_of(_float(x))
    dtype = _compute_dtype(x)
    x = convert(x, dtype)
    channels = (shape(x)[axis],)
    gamma = np.ones(channels, dtype) if gamma is None else convert(gamma, dtype)
    beta = np.zeros(channels, dtype) if beta is None else convert(beta, dtype)
    outputs = apply("group_normalization", x, gamma, beta, groups=int(groups), axis=int(axis), epsilon=float(epsilon))
    return convert(outputs, original)


def normalize(x, axis=-1, order: int = 2, epsilon: float | None = None):
    """`x / max(norm(x), epsilon)`, the L_`order` norm taken over `axis`.

    Args:
        x: the input tensor.
        axis: an int or a sequence of ints.
        order: the norm's order, an int >= 1.
        epsilon: the smallest norm divided by (default `kgraph.config.epsilon()`).
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize: `order` must be an int >= 1, got order={order!r}")
    x = _float(x)
    epsilon = config.epsilon() if epsilon is None else float(epsilon)
    if order == 2:
        inverse_norm = rsqrt(sum(square(x), axis=axis, keepdims=True))
        return multiply(x, minimum(inverse_norm, 1.0 / epsilon))
    if order == 1:
        norm = sum(abs(x), axis=axis, keepdims=True)
    else:
        norm = power(sum(power(abs(x), float(order)), axis=axis, keepdims=True), 1.0 / order)
    return divide(x, maximum(norm, epsilon))
