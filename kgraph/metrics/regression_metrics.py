"""Regression metrics: running means of the regression losses, and the root mean squared error."""

from __future__ import annotations

from kgraph import ops
from kgraph.losses.loss import squeeze_or_expand_to_same_rank
from kgraph.losses.losses import mean_absolute_error, mean_absolute_percentage_error, mean_squared_error
from kgraph.metrics.reduction_metrics import Mean, _BuiltinMeanMetric


class MeanSquaredError(_BuiltinMeanMetric):
    """The running mean of `mean(square(y_true - y_pred), axis=-1)`.

    Args:
        name: defaults to "mean_squared_error".
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(_BuiltinMeanMetric):
    """The running mean of `mean(abs(y_true - y_pred), axis=-1)`.

    Args:
        name: defaults to "mean_absolute_error".
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_BuiltinMeanMetric):
    """The running mean of `100 * mean(abs((y_true - y_pred) / y_true), axis=-1)`.

    Args:
        name: defaults to "mean_absolute_percentage_error".
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """`sqrt` of the (weighted) mean of the squared errors over every element seen.

    Args:
        name: defaults to "root_mean_squared_error".
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true = ops.convert_to_tensor(y_true, self.dtype)
        y_pred = ops.convert_to_tensor(y_pred, self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        super().update_state(ops.square(ops.subtract(y_pred, y_true)), sample_weight=sample_weight)

    def result(self):
        return ops.sqrt(super().result())
