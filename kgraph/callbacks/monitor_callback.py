"""MonitorCallback: the base of callbacks that watch one logged quantity for improvement.

EarlyStopping, ModelCheckpoint and ReduceLROnPlateau share its rule: a value improves on a reference when
it is better by more than `min_delta`, "better" meaning lower or higher by `mode` ("auto" infers it from
the metric behind the name, as Keras does).
"""

from __future__ import annotations

import operator
import warnings

import numpy as np

from kgraph.callbacks.callback import Callback

# Keras marks metrics with `_direction`; kgraph's metrics are known by class (subclasses included).
_HIGHER_IS_BETTER = {"Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
                     "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "AUC", "Precision", "Recall",
                     "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity",
                     "SpecificityAtSensitivity", "F1Score", "FBetaScore", "IoU", "MeanIoU", "BinaryIoU",
                     "OneHotIoU", "OneHotMeanIoU", "R2Score", "CosineSimilarity", "PearsonCorrelation",
                     "ConcordanceCorrelation"}
_LOWER_IS_BETTER = {"MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
                    "MeanSquaredLogarithmicError", "RootMeanSquaredError", "LogCoshError", "Hinge", "SquaredHinge",
                    "CategoricalHinge", "KLDivergence", "Poisson", "BinaryCrossentropy", "CategoricalCrossentropy",
                    "SparseCategoricalCrossentropy", "FalseNegatives", "FalsePositives"}


def metric_direction(metric) -> str | None:
    """"up", "down", or None when the metric's class does not say."""
    direction = getattr(metric, "_direction", None)
    if direction in ("up", "down"):
        return direction
    for cls in type(metric).__mro__:
        if cls.__name__ in _HIGHER_IS_BETTER:
            return "up"
        if cls.__name__ in _LOWER_IS_BETTER:
            return "down"
    return None


class MonitorCallback(Callback):
    """Tracks the best value of `monitor` seen so far.

    Args:
        monitor: The log key to watch, e.g. "val_loss" or "accuracy".
        mode: "min", "max", or "auto" (lower is better for losses, higher for accuracies and the like).
        baseline: The initial best value; `None` takes the first value seen.
        min_delta: A change smaller than this (in absolute value) is no improvement.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=2)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            name = self.monitor.removeprefix("val_")
            if name == "loss" or name.endswith("_loss"):
                self.monitor_op = operator.lt
            for metric in getattr(self.model, "metrics", None) or []:
                if getattr(metric, "name", None) == name:
                    direction = metric_direction(metric)
                    if direction is not None:
                        self.monitor_op = operator.gt if direction == "up" else operator.lt
            if self.monitor_op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but Keras isn't able to "
                    "automatically determine whether that metric should be maximized or minimized. Pass "
                    "`mode='max'` in order to monitor based on the highest metric value, or pass `mode='min'` "
                    "in order to use the lowest value."
                )
        if self.monitor_op is operator.lt:
            self.min_delta = -abs(self.min_delta)

    def _is_improvement(self, value, reference) -> bool:
        if reference is None:
            return True
        # Keras compares with backend ops, i.e. in float32; so do we, or near-ties would be decided differently
        return bool(self.monitor_op(np.float32(value - self.min_delta), np.float32(reference)))
