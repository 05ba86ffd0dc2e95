"""Keras 3 metrics: stateful `Metric` classes, metric functions, and `get`/`serialize`/`deserialize`.

`get("accuracy")` and `get("acc")` return the string unchanged: which accuracy Keras means depends on the
output and its loss, so the trainer resolves it per output (see `kgraph.models.compile_utils`).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from kgraph.identifiers import Identifiers
from kgraph.losses.focal_losses import binary_focal_crossentropy, categorical_focal_crossentropy
from kgraph.losses.hinge_losses import categorical_hinge, hinge, squared_hinge
from kgraph.losses.loss import to_snake_case
from kgraph.losses.losses import (
    binary_crossentropy, categorical_crossentropy, huber, kl_divergence, mean_absolute_error,
    mean_absolute_percentage_error, mean_squared_error, sparse_categorical_crossentropy,
)
from kgraph.losses.regression_losses import log_cosh, mean_squared_logarithmic_error, poisson
from kgraph.metrics.accuracy_metrics import (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy, accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy, top_k_categorical_accuracy,
)
from kgraph.metrics.confusion_metrics import (
    AUC, FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall, RecallAtPrecision,
    SensitivityAtSpecificity, SpecificityAtSensitivity, TrueNegatives, TruePositives,
)
from kgraph.metrics.correlation_metrics import (
    ConcordanceCorrelation, PearsonCorrelation, concordance_correlation, pearson_correlation,
)
from kgraph.metrics.iou_metrics import IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from kgraph.metrics.metric import Metric
from kgraph.metrics.probabilistic_metrics import (
    BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge, CosineSimilarity, Hinge, KLDivergence,
    LogCoshError, MeanSquaredLogarithmicError, Poisson, SparseCategoricalCrossentropy, SquaredHinge,
)
from kgraph.metrics.reduction_metrics import Mean, MeanMetricWrapper, Sum
from kgraph.metrics.regression_metrics import (
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError, RootMeanSquaredError,
)
from kgraph.metrics.shape_built_metrics import F1Score, FBetaScore, R2Score

_CLASS_LIST = (
    Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError, LogCoshError, AUC, Precision,
    Recall, TruePositives, FalsePositives, TrueNegatives, FalseNegatives, PrecisionAtRecall, RecallAtPrecision,
    SensitivityAtSpecificity, SpecificityAtSensitivity, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, KLDivergence, Poisson, CosineSimilarity, Hinge, SquaredHinge, CategoricalHinge,
    PearsonCorrelation, ConcordanceCorrelation, IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU, F1Score,
    FBetaScore, R2Score,
)
_FUNCTION_LIST = (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
    sparse_top_k_categorical_accuracy, binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy,
    binary_focal_crossentropy, categorical_focal_crossentropy, huber, kl_divergence, mean_absolute_error,
    mean_absolute_percentage_error, mean_squared_error, mean_squared_logarithmic_error, log_cosh, poisson, hinge,
    squared_hinge, categorical_hinge, pearson_correlation, concordance_correlation,
)

__all__ = [cls.__name__ for cls in _CLASS_LIST] + [fn.__name__ for fn in _FUNCTION_LIST] + [
    "get", "serialize", "deserialize"]

ACCURACY_MARKERS = ("accuracy", "acc")

# Names `get` instantiates: class names, their snake_case forms ("auc", "sparse_categorical_accuracy"), aliases.
# Classes that need constructor arguments (IoU, PrecisionAtRecall, ...) are reachable by config only.
_NEEDS_ARGS = (Metric, MeanMetricWrapper, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU, PrecisionAtRecall,
               RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity)
_BY_NAME: dict[str, type[Metric]] = {
    name: cls for cls in _CLASS_LIST if cls not in _NEEDS_ARGS
    for name in (cls.__name__, to_snake_case(cls.__name__))
}
_BY_NAME.update({"mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError,
                 "MAE": MeanAbsoluteError, "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
                 "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError, "logcosh": LogCoshError})
_IDENTIFIERS = Identifiers("metric", "keras.metrics", Metric, classes={cls.__name__: cls for cls in _CLASS_LIST},
                           functions={fn.__name__: fn for fn in _FUNCTION_LIST}, instance_names=_BY_NAME)


def serialize(metric: Metric | Callable) -> dict[str, Any]:
    """A Keras-format config: `{"module", "class_name", "config", "registered_name"}` (Keras reads it too)."""
    return _IDENTIFIERS.serialize(metric)


def deserialize(config: dict[str, Any] | str, custom_objects: dict[str, Any] | None = None) -> Metric | Callable:
    """The metric `serialize` (or `keras.metrics.serialize`) described: a Metric instance or a function.

    Args:
        config: a config dict, or a metric class's or function's name.
        custom_objects: extra names → classes or functions to look up.
    """
    return _IDENTIFIERS.deserialize(config, custom_objects)


def get(identifier: Metric | str | dict | Callable | type | None) -> Metric | str | None:
    """A metric from a Keras identifier.

    Names (e.g. "sparse_categorical_accuracy", "mse", "auc", "Precision") give a new instance, config dicts
    are deserialized, Metric classes are instantiated and instances returned as they are. A function
    `fn(y_true, y_pred)` is wrapped in a `MeanMetricWrapper` named after it. "accuracy" and "acc" are
    returned unchanged, for the trainer to resolve per output.
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in ACCURACY_MARKERS:
            return identifier
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise _IDENTIFIERS.unknown(identifier, ACCURACY_MARKERS)
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        name = getattr(identifier, "name", None) or getattr(identifier, "__name__", None)
        return MeanMetricWrapper(identifier, name=name or to_snake_case(type(identifier).__name__))
    raise _IDENTIFIERS.unknown(identifier, ACCURACY_MARKERS)
