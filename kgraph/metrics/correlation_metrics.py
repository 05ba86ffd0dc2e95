"""Correlation metrics: Pearson and concordance correlation, averaged over batches as Keras does."""

from __future__ import annotations

from kgraph import config, ops
from kgraph.losses.loss import squeeze_or_expand_to_same_rank
from kgraph.metrics.reduction_metrics import _BuiltinMeanMetric


def _pair(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    return squeeze_or_expand_to_same_rank(ops.cast(y_true, y_pred.dtype), y_pred)


def pearson_correlation(y_true, y_pred, axis: int = -1):
    """The Pearson correlation coefficient of `y_true` and `y_pred` along `axis`."""
    y_true, y_pred = _pair(y_true, y_pred)
    t = ops.subtract(y_true, ops.mean(y_true, axis=axis, keepdims=True))
    p = ops.subtract(y_pred, ops.mean(y_pred, axis=axis, keepdims=True))
    t = ops.divide(t, ops.std(t, axis=axis, keepdims=True))
    p = ops.divide(p, ops.std(p, axis=axis, keepdims=True))
    return ops.mean(ops.multiply(t, p), axis=axis)


def concordance_correlation(y_true, y_pred, axis: int = -1):
    """Lin's concordance correlation coefficient of `y_true` and `y_pred` along `axis` (Keras' formula)."""
    y_true, y_pred = _pair(y_true, y_pred)
    true_mean = ops.mean(y_true, axis=axis, keepdims=True)
    pred_mean = ops.mean(y_pred, axis=axis, keepdims=True)
    true_var = ops.var(ops.subtract(y_true, true_mean), axis=axis, keepdims=True)
    pred_var = ops.var(ops.subtract(y_pred, pred_mean), axis=axis, keepdims=True)
    covar = ops.multiply(ops.subtract(y_true, pred_mean), ops.subtract(y_pred, pred_mean))
    norm = ops.add(ops.add(true_var, pred_var), ops.square(ops.subtract(true_mean, pred_mean)))
    return ops.mean(ops.divide(ops.multiply(2.0, covar), ops.add(norm, config.epsilon())), axis=axis)


class PearsonCorrelation(_BuiltinMeanMetric):
    """The running mean of the per-batch Pearson correlation.

    Args:
        name: defaults to "pearson_correlation".
        dtype: the dtype of the state and result.
        axis: the axis along which the correlation is computed.
    """

    def __init__(self, name: str = "pearson_correlation", dtype=None, axis: int = -1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)


class ConcordanceCorrelation(_BuiltinMeanMetric):
    """The running mean of the per-batch concordance correlation.

    Args:
        name: defaults to "concordance_correlation".
        dtype: the dtype of the state and result.
        axis: the axis along which the correlation is computed.
    """

    def __init__(self, name: str = "concordance_correlation", dtype=None, axis: int = -1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
