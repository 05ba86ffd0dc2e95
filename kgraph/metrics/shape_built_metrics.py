"""Metrics whose state is sized by the number of outputs: F-beta/F1 and R². Their variables are created from
the prediction shape: at `compile` when the model's output shape is known, else at the first update."""

from __future__ import annotations

from typing import Any

from kgraph import config, ops
from kgraph.losses.loss import squeeze_or_expand_to_same_rank
from kgraph.metrics.metric import Metric


def _check_2d(name: str, y_true_shape, y_pred_shape) -> None:
    if len(y_pred_shape) != 2 or (y_true_shape is not None and len(y_true_shape) != 2):
        raise ValueError(f"{name} expects 2D inputs with shape (batch_size, output_dim). Received input shapes: "
                         f"y_pred.shape={tuple(y_pred_shape)} and y_true.shape={y_true_shape}.")
    if y_pred_shape[-1] is None:
        raise ValueError(f"{name} expects 2D inputs with shape (batch_size, output_dim), with output_dim fully "
                         f"defined (not None). Received input shapes: y_pred.shape={tuple(y_pred_shape)}.")


class FBetaScore(Metric):
    """F-beta score per class (or averaged): `(1 + beta²)·P·R / (beta²·P + R)`.

    Args:
        average: None (one score per class), "micro", "macro" or "weighted".
        beta: the weight of recall relative to precision.
        threshold: predictions above it count as positive; None takes each row's maximum as the positive.
        name: defaults to "fbeta_score".
        dtype: the dtype of the state and result.
    """

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str = "fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                             f"'weighted'}}. Received: average={average}")
        if not isinstance(beta, float) or beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be a Python float > 0. Received: beta={beta}")
        if threshold is not None and (not isinstance(threshold, float) or not 0.0 < threshold <= 1.0):
            raise ValueError("Invalid `threshold` argument value. It should be a Python float in the range "
                             f"]0, 1]. Received: threshold={threshold}")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.axis = 0 if average != "micro" else None
        self._built = False

    def build_for_output_shape(self, y_pred_shape, y_true_shape=None) -> None:
        """Creates the per-class counts for predictions of shape `(batch, num_classes)`."""
        _check_2d(type(self).__name__, y_true_shape, y_pred_shape)
        shape = (y_pred_shape[-1],) if self.average != "micro" else ()
        self.true_positives = self.add_variable(shape, "zeros", dtype=self.dtype, name="true_positives")
        self.false_positives = self.add_variable(shape, "zeros", dtype=self.dtype, name="false_positives")
        self.false_negatives = self.add_variable(shape, "zeros", dtype=self.dtype, name="false_negatives")
        self.intermediate_weights = self.add_variable(shape, "zeros", dtype=self.dtype, name="intermediate_weights")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true = ops.convert_to_tensor(y_true, dtype=self.dtype)
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        if not self._built:
            self.build_for_output_shape(ops.shape(y_pred), ops.shape(y_true))
        if self.threshold is None:
            threshold = ops.max(y_pred, axis=-1, keepdims=True)
            y_pred = ops.logical_and(ops.greater_equal(y_pred, threshold), ops.greater(ops.abs(y_pred), 1e-9))
        else:
            y_pred = ops.greater(y_pred, self.threshold)
        y_pred = ops.cast(y_pred, self.dtype)
        if sample_weight is not None:
            sample_weight = ops.expand_dims(ops.convert_to_tensor(sample_weight, dtype=self.dtype), 1)

        def weighted_sum(value):
            if sample_weight is not None:
                value = ops.multiply(value, sample_weight)
            return ops.sum(value, axis=self.axis)

        self.true_positives.assign_add(weighted_sum(ops.multiply(y_pred, y_true)))
        self.false_positives.assign_add(weighted_sum(ops.multiply(y_pred, ops.subtract(1.0, y_true))))
        self.false_negatives.assign_add(weighted_sum(ops.multiply(ops.subtract(1.0, y_pred), y_true)))
        self.intermediate_weights.assign_add(weighted_sum(y_true))

    def result(self):
        eps = config.epsilon()
        tp = self.true_positives.value
        precision = ops.divide(tp, ops.add(ops.add(tp, self.false_positives.value), eps))
        recall = ops.divide(tp, ops.add(ops.add(tp, self.false_negatives.value), eps))
        beta2 = self.beta ** 2
        mean = ops.divide(ops.multiply(precision, recall), ops.add(ops.add(ops.multiply(beta2, precision), recall), eps))
        score = ops.multiply(mean, 1 + beta2)
        if self.average == "weighted":
            weights = self.intermediate_weights.value
            weights = ops.divide(weights, ops.add(ops.sum(weights), eps))
            return ops.sum(ops.multiply(score, weights))
        if self.average is not None:
            return ops.mean(score)
        return score

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 score: the harmonic mean of precision and recall (F-beta with beta = 1).

    Args:
        average: None (one score per class), "micro", "macro" or "weighted".
        threshold: predictions above it count as positive; None takes each row's maximum as the positive.
        name: defaults to "f1_score".
        dtype: the dtype of the state and result.
    """

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str = "f1_score",
                 dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config


class R2Score(Metric):
    """The coefficient of determination, per output and aggregated.

    Args:
        class_aggregation: "uniform_average", "variance_weighted_average" or None (one score per output).
        num_regressors: the number of independent regressors, for the adjusted R²; 0 for the plain one. With
            too few samples for the adjustment, the plain R² is returned.
        name: defaults to "r2_score".
        dtype: the dtype of the state and result.
    """

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str = "r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in ("uniform_average", "variance_weighted_average", None):
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one of {None, "
                             f"'uniform_average', 'variance_weighted_average'}}. Received: {class_aggregation}")
        if num_regressors < 0:
            raise ValueError(f"Invalid value for argument `num_regressors`. Expected a value >= 0. "
                             f"Received: num_regressors={num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.num_samples = self.add_variable((), "zeros", dtype="int32", name="num_samples")
        self._built = False

    def build_for_output_shape(self, y_pred_shape, y_true_shape=None) -> None:
        """Creates the per-output sums for predictions of shape `(batch, outputs)`."""
        _check_2d("R2Score", y_true_shape, y_pred_shape)
        shape = (y_pred_shape[-1],)
        self.squared_sum = self.add_variable(shape, "zeros", name="squared_sum")
        self.sum = self.add_variable(shape, "zeros", name="sum")
        self.total_mse = self.add_variable(shape, "zeros", name="residual")
        self.count = self.add_variable(shape, "zeros", name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true = ops.convert_to_tensor(y_true, dtype=self.dtype)
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            self.build_for_output_shape(ops.shape(y_pred), ops.shape(y_true))
        sample_weight = ops.convert_to_tensor(1.0 if sample_weight is None else sample_weight, dtype=self.dtype)
        if ops.ndim(sample_weight) == 1:
            sample_weight = ops.expand_dims(sample_weight, 1)
        sample_weight = ops.multiply(sample_weight, ops.ones_like(y_true))
        weighted = ops.multiply(y_true, sample_weight)
        self.sum.assign_add(ops.sum(weighted, axis=0))
        self.squared_sum.assign_add(ops.sum(ops.multiply(y_true, weighted), axis=0))
        self.total_mse.assign_add(ops.sum(ops.multiply(ops.square(ops.subtract(y_true, y_pred)), sample_weight), axis=0))
        self.count.assign_add(ops.sum(sample_weight, axis=0))
        self.num_samples.assign_add(ops.cast(ops.size(y_true), "int32"))

    def result(self):
        mean = ops.divide(self.sum.value, self.count.value)
        total = ops.subtract(self.squared_sum.value, ops.multiply(self.sum.value, mean))
        raw = ops.subtract(1.0, ops.divide(self.total_mse.value, total))
        raw = ops.where(ops.equal(ops.abs(raw), float("inf")), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = ops.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = ops.divide(ops.sum(ops.multiply(total, raw)), ops.sum(total))
        else:
            score = raw
        if self.num_regressors == 0:
            return score
        n = ops.cast(self.num_samples.value, "float32")
        p = float(self.num_regressors)
        adjusted = ops.subtract(1.0, ops.divide(ops.multiply(ops.subtract(1.0, score), ops.subtract(n, 1.0)),
                                                ops.subtract(ops.subtract(n, p), 1.0)))
        return ops.where(ops.greater(ops.subtract(n, 1.0), p), adjusted, score)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
