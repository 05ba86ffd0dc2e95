"""Activation functions by Keras name, written with `kgraph.ops` so they trace and run eagerly."""

from __future__ import annotations

from typing import Callable

from kgraph import ops


def linear(x):
    """The identity."""
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit: `x` above `threshold` (capped at `max_value`), `negative_slope * (x - threshold)`
    below it; Keras' order of operations, so a negative threshold also caps at zero."""
    if negative_slope != 0.0 and max_value is None and threshold == 0.0:
        return leaky_relu(x, negative_slope)
    y = ops.relu(x) if threshold == 0.0 else ops.where(ops.greater(x, threshold), x, 0.0)
    if max_value is not None:
        y = ops.clip(y, 0.0, max_value)
    if negative_slope != 0.0:
        y = ops.subtract(y, ops.multiply(negative_slope, ops.relu(ops.subtract(threshold, x))))
    return y


def relu6(x):
    """min(max(x, 0), 6)."""
    return ops.relu6(x)


def leaky_relu(x, negative_slope=0.2):
    """x where x >= 0, else `negative_slope * x`."""
    return ops.where(ops.greater_equal(x, 0), x, ops.multiply(x, negative_slope))


def elu(x, alpha=1.0):
    """Exponential linear unit: x where x > 0, else `alpha * (exp(x) - 1)`."""
    positive = ops.greater(x, 0)
    return ops.where(positive, x, ops.multiply(alpha, ops.expm1(ops.where(positive, 0.0, x))))


def selu(x):
    """Scaled ELU with the self-normalizing constants of Klambauer et al., 2017."""
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return ops.multiply(scale, elu(x, alpha))


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)`."""
    negative = ops.multiply(alpha, ops.expm1(ops.divide(ops.minimum(x, 0.0), alpha)))
    return ops.add(ops.maximum(x, 0.0), negative)


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return ops.sigmoid(x)


def hard_sigmoid(x):
    """The piecewise-linear sigmoid `relu6(x + 3) / 6`."""
    return ops.divide(ops.relu6(ops.add(x, 3.0)), 6.0)


def hard_silu(x):
    """x * hard_sigmoid(x), also called hard swish."""
    return ops.multiply(x, hard_sigmoid(x))


def log_sigmoid(x):
    """log(sigmoid(x)), computed as -softplus(-x)."""
    return ops.negative(ops.softplus(ops.negative(x)))


def sparse_sigmoid(x):
    """The piecewise-linear sigmoid `clip(x + 1, 0, 2) / 2`."""
    return ops.multiply(0.5, ops.clip(ops.add(x, 1.0), 0.0, 2.0))


def tanh(x):
    """Hyperbolic tangent."""
    return ops.tanh(x)


def hard_tanh(x):
    """tanh's piecewise-linear stand-in: x clipped to [-1, 1]."""
    return ops.clip(x, -1.0, 1.0)


def tanh_shrink(x):
    """x - tanh(x)."""
    return ops.subtract(x, ops.tanh(x))


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    return ops.where(ops.greater(ops.abs(x), threshold), x, 0.0)


def soft_shrink(x, threshold=0.5):
    """x moved `threshold` towards 0, and 0 within [-threshold, threshold]."""
    below = ops.where(ops.less(x, -threshold), ops.add(x, threshold), 0.0)
    return ops.where(ops.greater(x, threshold), ops.subtract(x, threshold), below)


def threshold(x, threshold, default_value):
    """x where x > threshold, else `default_value`."""
    return ops.where(ops.greater(x, threshold), x, default_value)


def _multi_axis(axis) -> bool:
    return isinstance(axis, (list, tuple)) and len(axis) > 1


def _single_axis(axis) -> int:
    return axis[0] if isinstance(axis, (list, tuple)) else axis


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis` (an int or a sequence of ints)."""
    if _multi_axis(axis):
        return ops.exp(ops.subtract(x, ops.logsumexp(x, axis=axis, keepdims=True)))
    return ops.softmax(x, axis=_single_axis(axis))


def log_softmax(x, axis=-1):
    """log(softmax(x)) along `axis` (an int or a sequence of ints)."""
    if _multi_axis(axis):
        return ops.subtract(x, ops.logsumexp(x, axis=axis, keepdims=True))
    return ops.log_softmax(x, axis=_single_axis(axis))


def gelu(x, approximate=False):
    """Gaussian error linear unit, exact (erf) by default or with the tanh approximation."""
    return ops.gelu(x, approximate=approximate)


def silu(x):
    """x * sigmoid(x), also called swish."""
    return ops.silu(x)


def softplus(x):
    """log(1 + exp(x))."""
    return ops.softplus(x)


def sparse_plus(x):
    """A piecewise softplus: 0 below -1, x above 1, (x + 1)^2 / 4 between."""
    middle = ops.divide(ops.square(ops.add(x, 1.0)), 4.0)
    return ops.where(ops.less_equal(x, -1.0), 0.0, ops.where(ops.greater_equal(x, 1.0), x, middle))


def squareplus(x, b=4):
    """A smooth softplus without exp: (x + sqrt(x^2 + b)) / 2."""
    return ops.divide(ops.add(x, ops.sqrt(ops.add(ops.square(x), float(b)))), 2.0)


def softsign(x):
    """x / (|x| + 1)."""
    return ops.softsign(x)


def mish(x):
    """x * tanh(softplus(x))."""
    return ops.multiply(x, ops.tanh(ops.softplus(x)))


def exponential(x):
    """exp(x)."""
    return ops.exp(x)


def glu(x, axis=-1):
    """Gated linear unit: the first half of `x` along `axis` times the sigmoid of the second half."""
    a, b = ops.split(x, 2, axis=axis)
    return ops.multiply(a, ops.sigmoid(b))


def sparsemax(x, axis=-1):
    """Sparsemax (Martins & Astudillo, 2016): the Euclidean projection of `x` onto the probability simplex, a
    softmax whose outputs can be exactly 0. The support is found by comparing every pair of entries."""
    x = ops.convert_to_tensor(x)
    axis = axis % ops.ndim(x)
    xi, xj = ops.expand_dims(x, axis + 1), ops.expand_dims(x, axis)
    at_least = ops.cast(ops.greater_equal(xj, xi), x.dtype)
    count = ops.sum(at_least, axis=axis + 1)
    total = ops.sum(ops.multiply(at_least, xj), axis=axis + 1)
    support = ops.cast(ops.greater(ops.add(1.0, ops.multiply(count, x)), total), x.dtype)
    tau = ops.divide(ops.subtract(ops.sum(ops.multiply(support, x), axis=axis, keepdims=True), 1.0),
                     ops.sum(support, axis=axis, keepdims=True))
    return ops.maximum(ops.subtract(x, tau), 0.0)


swish = silu
hard_swish = hard_silu

_ALL: dict[str, Callable] = {
    f.__name__: f for f in (linear, relu, relu6, leaky_relu, elu, selu, celu, sigmoid, hard_sigmoid, hard_silu,
                            log_sigmoid, sparse_sigmoid, tanh, hard_tanh, tanh_shrink, hard_shrink, soft_shrink,
                            threshold, softmax, log_softmax, gelu, silu, softplus, sparse_plus, squareplus, softsign,
                            mish, exponential, glu, sparsemax)
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


def deserialize(config: str | dict, custom_objects: dict | None = None) -> Callable:
    """The activation function a name or a Keras config (`{"class_name": "function", "config": "relu"}`) names.

    Args:
        config: a function name or a config dict.
        custom_objects: extra names → functions to look up.
    """
    custom = dict(custom_objects or {})
    if isinstance(config, dict):
        name = config.get("config") if config.get("class_name") == "function" else config.get("class_name")
        if isinstance(name, dict):
            name = name.get("name")
        config = name
    if isinstance(config, str) and config in custom:
        return custom[config]
    if not isinstance(config, str):
        raise ValueError(f"Could not interpret activation config: {config!r}")
    return get(config)


def serialize(activation: Callable) -> str:
    name = getattr(activation, "__name__", None)
    if name in _ALL and _ALL[name] is activation:
        return name
    return name or repr(activation)
