"""Activation functions by Keras name, written with `kgraph.ops` so they trace and run eagerly."""

from __future__ import annotations

from typing import Callable

from kgraph import ops


def linear(x):
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    y = ops.where(ops.greater(x, threshold), x, ops.multiply(negative_slope, ops.subtract(x, threshold)))
    return y if max_value is None else ops.minimum(y, max_value)


def relu6(x):
    return ops.relu6(x)


def leaky_relu(x, negative_slope=0.2):
    return ops.where(ops.greater_equal(x, 0), x, ops.multiply(x, negative_slope))


def elu(x, alpha=1.0):
    return ops.where(ops.greater(x, 0), x, ops.multiply(alpha, ops.expm1(ops.minimum(x, 0))))


def selu(x):
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return ops.multiply(scale, elu(x, alpha))


def sigmoid(x):
    return ops.sigmoid(x)


def hard_sigmoid(x):
    return ops.clip(ops.add(ops.divide(x, 6.0), 0.5), 0.0, 1.0)


def hard_silu(x):
    return ops.multiply(x, hard_sigmoid(x))


def tanh(x):
    return ops.tanh(x)


def softmax(x, axis=-1):
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return ops.log_softmax(x, axis=axis)


def gelu(x, approximate=False):
    return ops.gelu(x, approximate=approximate)


def silu(x):
    return ops.silu(x)


def softplus(x):
    return ops.softplus(x)


def softsign(x):
    return ops.softsign(x)


def mish(x):
    return ops.multiply(x, ops.tanh(ops.softplus(x)))


def exponential(x):
    return ops.exp(x)


swish = silu
hard_swish = hard_silu

_ALL: dict[str, Callable] = {
    f.__name__: f for f in (linear, relu, relu6, leaky_relu, elu, selu, sigmoid, hard_sigmoid, hard_silu, tanh,
                            softmax, log_softmax, gelu, silu, softplus, softsign, mish, exponential)
}
_ALL.update(swish=silu, hard_swish=hard_silu)


def get(identifier) -> Callable:
    """The activation function named by `identifier` (None means linear); callables pass through."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        try:
            return _ALL[identifier]
        except KeyError:
            raise ValueError(f"Could not interpret activation function identifier: {identifier!r}. "
                             f"Expected one of: {', '.join(sorted(_ALL))}.") from None
    if isinstance(identifier, dict):
        return get(identifier.get("config", {}).get("name", identifier.get("class_name")))
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation function identifier: {identifier!r} (of type {type(identifier).__name__}).")


def serialize(activation: Callable) -> str:
    name = getattr(activation, "__name__", None)
    if name in _ALL and _ALL[name] is activation:
        return name
    return name or repr(activation)
