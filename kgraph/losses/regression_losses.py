"""Regression losses beyond MSE/MAE: log-cosh, squared log error, Poisson."""

from __future__ import annotations

import math

from kgraph import config, ops
from kgraph.losses.loss import squeeze_or_expand_to_same_rank
from kgraph.losses.losses import _BuiltinLoss, _as_pair


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true)), axis=-1), computed stably as x + softplus(-2x) - log 2."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_as_pair(y_true, y_pred))
    x = ops.subtract(y_pred, y_true)
    return ops.mean(ops.subtract(ops.add(x, ops.softplus(ops.multiply(x, -2.0))), math.log(2.0)), axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean(square(log(y_pred + 1) - log(y_true + 1)), axis=-1), both floored at epsilon."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_as_pair(y_true, y_pred))
    epsilon = config.epsilon()
    first = ops.log(ops.add(ops.maximum(y_pred, epsilon), 1.0))
    second = ops.log(ops.add(ops.maximum(y_true, epsilon), 1.0))
    return ops.mean(ops.square(ops.subtract(first, second)), axis=-1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_as_pair(y_true, y_pred))
    return ops.mean(ops.subtract(y_pred, ops.multiply(y_true, ops.log(ops.add(y_pred, config.epsilon())))), axis=-1)


msle = MSLE = mean_squared_logarithmic_error
logcosh = log_cosh


class LogCosh(_BuiltinLoss):
    """Logarithm of the hyperbolic cosine of the error: like MSE for small errors, like MAE for large ones.

    Args:
        reduction, name, dtype: see `Loss`.
    """

    def __init__(self, reduction="sum_over_batch_size", name: str = "log_cosh", dtype=None):
        super().__init__(log_cosh, reduction=reduction, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_BuiltinLoss):
    """Mean squared error of `log(1 + y)`, which weighs relative rather than absolute errors.

    Args:
        reduction, name, dtype: see `Loss`.
    """

    def __init__(self, reduction="sum_over_batch_size", name: str = "mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, reduction=reduction, name=name, dtype=dtype)


class Poisson(_BuiltinLoss):
    """Poisson negative log-likelihood, up to a constant: `y_pred - y_true * log(y_pred)`.

    Args:
        reduction, name, dtype: see `Loss`.
    """

    def __init__(self, reduction="sum_over_batch_size", name: str = "poisson", dtype=None):
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)
