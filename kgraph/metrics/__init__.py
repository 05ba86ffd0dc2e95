"""Keras 3 metrics: stateful `Metric` classes, metric functions, and `get`/`serialize`/`deserialize`.

`get("accuracy")` and `get("acc")` return the string unchanged: which accuracy Keras means depends on the
output and its loss, so the trainer resolves it per output (see `kgraph.models.compile_utils`).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from kgraph.losses.loss import to_snake_case
from kgraph.losses.losses import (
    binary_crossentropy, categorical_crossentropy, huber, kl_divergence, mean_absolute_error,
    mean_absolute_percentage_error, mean_squared_error, sparse_categorical_crossentropy,
)
from kgraph.metrics.accuracy_metrics import (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy, accuracy,
    binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
)
from kgraph.metrics.confusion_metrics import AUC, Precision, Recall
from kgraph.metrics.metric import Metric
from kgraph.metrics.reduction_metrics import Mean, MeanMetricWrapper, Sum
from kgraph.metrics.regression_metrics import (
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError, RootMeanSquaredError,
)

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "MeanSquaredError", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "RootMeanSquaredError", "AUC", "Precision", "Recall", "accuracy",
    "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "huber",
    "kl_divergence", "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "get", "serialize", "deserialize",
]

ACCURACY_MARKERS = ("accuracy", "acc")

_CLASSES: dict[str, type[Metric]] = {
    cls.__name__: cls for cls in (
        Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
        SparseCategoricalAccuracy, TopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError,
        MeanAbsolutePercentageError, RootMeanSquaredError, AUC, Precision, Recall,
    )
}
# Names `get` instantiates: class names, their snake_case forms ("auc", "sparse_categorical_accuracy"), aliases.
_BY_NAME: dict[str, type[Metric]] = {
    name: cls for cls in _CLASSES.values() if cls not in (Metric, MeanMetricWrapper)
    for name in (cls.__name__, to_snake_case(cls.__name__))
}
_BY_NAME.update({"mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError,
                 "MAE": MeanAbsoluteError, "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError})
# Functions a MeanMetricWrapper config may name.
_FUNCTIONS: dict[str, Callable] = {fn.__name__: fn for fn in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
    binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy, huber, kl_divergence,
    mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
)}


def _unknown(identifier) -> ValueError:
    return ValueError(f"Could not interpret metric identifier: {identifier!r}. "
                      f"Expected one of: {', '.join(sorted({*_BY_NAME, *ACCURACY_MARKERS}))}, "
                      "a Metric instance or class, a config dict, or a function fn(y_true, y_pred).")


def serialize(metric: Metric | Callable) -> dict[str, Any]:
    """A Keras-format config: `{"module", "class_name", "config", "registered_name"}` (Keras reads it too)."""
    if isinstance(metric, Metric):
        return {"module": "keras.metrics", "class_name": type(metric).__name__, "config": metric.get_config(),
                "registered_name": None}
    if callable(metric) and hasattr(metric, "__name__"):
        return {"module": "builtins", "class_name": "function", "config": metric.__name__,
                "registered_name": "function"}
    raise TypeError(f"Cannot serialize {metric!r}: expected a Metric instance or a metric function")


def deserialize(config: dict[str, Any] | str, custom_objects: dict[str, Any] | None = None) -> Metric | Callable:
    """The metric `serialize` (or `keras.metrics.serialize`) described: a Metric instance or a function.

    Args:
        config: a config dict, or a metric class's or function's name.
        custom_objects: extra names → classes or functions to look up.
    """
    custom = dict(custom_objects or {})
    if isinstance(config, str):
        obj = custom.get(config) or _FUNCTIONS.get(config) or _BY_NAME.get(config)
        if obj is None:
            raise _unknown(config)
        return obj() if inspect.isclass(obj) else obj
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"A metric config must be a dict with a string 'class_name'. Received: {config!r}")
    class_name, inner = config["class_name"], config.get("config")
    if class_name == "function":
        return deserialize(inner, custom)
    cls = custom.get(class_name) or _CLASSES.get(class_name)
    if cls is None:
        raise _unknown(class_name)
    return cls.from_config(dict(inner or {}))


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
            raise _unknown(identifier)
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        name = getattr(identifier, "name", None) or getattr(identifier, "__name__", None)
        return MeanMetricWrapper(identifier, name=name or to_snake_case(type(identifier).__name__))
    raise _unknown(identifier)
