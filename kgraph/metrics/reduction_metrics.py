"""Sum, Mean and MeanMetricWrapper: (weighted) running sums and averages of per-sample values."""

from __future__ import annotations

from typing import Any, Callable

from kgraph import ops
from kgraph.losses.loss import squeeze_or_expand_to_same_rank
from kgraph.metrics.metric import Metric
import kgraph.metrics


def reduce_to_samplewise_values(values, sample_weight, reduce_fn: Callable, dtype: str):
    """Keras' weighting rule: reduce `values` to the rank of `sample_weight`, weight them, then reduce both
    to one value per sample (the weights with `reduce_fn` over their own inner axes)."""
    values = ops.cast(values, dtype)
    if sample_weight is not None:
        sample_weight = ops.cast(sample_weight, dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim, values_ndim = ops.ndim(sample_weight), ops.ndim(values)
        if values_ndim > weight_ndim:
            values = reduce_fn(values, axis=tuple(range(weight_ndim, values_ndim)))
        # Broadcasting the weights to the values' shape changes what they sum to below.
        sample_weight = ops.multiply(sample_weight, ops.ones_like(values))
        values = ops.multiply(values, sample_weight)
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, weight_ndim)))
    if ops.ndim(values) > 1:
        values = reduce_fn(values, axis=tuple(range(1, ops.ndim(values))))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of all values seen.

    Args:
        name: defaults to "sum".
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")

    def update_state(self, values, sample_weight=None) -> None:
        values, _ = reduce_to_samplewise_values(values, sample_weight, ops.sum, self.dtype)
        self.total.assign_add(ops.sum(values))

    def result(self):
        return ops.cast(self.total, self.dtype)


class Mean(Metric):
    """The (weighted) mean of all values seen: `total / count`, where `count` accumulates the weights.

    Args:
        name: defaults to "mean".
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="count")

    def update_state(self, values, sample_weight=None) -> None:
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, ops.mean, self.dtype)
        self.total.assign_add(ops.sum(values))
        if sample_weight is not None:
            num_samples = ops.sum(sample_weight)
        elif ops.ndim(values) >= 1:
            num_samples = ops.sum(ops.ones_like(values))  # the batch size, also when it is unknown while tracing
        else:
            num_samples = 1.0
        self.count.assign_add(ops.cast(num_samples, self.dtype))

    def result(self):
        return ops.divide_no_nan(self.total, ops.cast(self.count, self.dtype))


class MeanMetricWrapper(Mean):
    """The running mean of a per-sample function `fn(y_true, y_pred, **fn_kwargs)`.

    Args:
        fn: the function, e.g. a loss function.
        name: the metric's name; defaults to "mean_metric_wrapper".
        dtype: the dtype of the state and result.
        **fn_kwargs: keyword arguments passed on to `fn`.
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype=None, **fn_kwargs):
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = fn_kwargs

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fn": kgraph.metrics.serialize(self._fn), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "MeanMetricWrapper":
        config = dict(config)
        if "fn" in config and not callable(config["fn"]):
            config["fn"] = kgraph.metrics.deserialize(config["fn"])
        return cls(**config)


class _BuiltinMeanMetric(MeanMetricWrapper):
    """A built-in wrapper of a fixed function: its config is its constructor arguments."""

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Metric":
        return cls(**config)
