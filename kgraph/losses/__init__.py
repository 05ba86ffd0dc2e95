"""Keras 3 losses: `Loss` classes and functions, plus `get`/`serialize`/`deserialize` with Keras' names."""

from __future__ import annotations

import inspect
from typing import Any, Callable

from kgraph.losses.loss import Loss, reduce_weighted_values, squeeze_or_expand_to_same_rank
from kgraph.losses.losses import (
    BCE, KLD, MAE, MAPE, MSE, BinaryCrossentropy, CategoricalCrossentropy, CosineSimilarity, Huber, KLDivergence,
    LossFunctionWrapper, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError,
    SparseCategoricalCrossentropy, bce, binary_crossentropy, categorical_crossentropy, cosine_similarity, huber,
    kl_divergence, kld, mae, mape, mean_absolute_error, mean_absolute_percentage_error, mean_squared_error, mse,
    sparse_categorical_crossentropy,
)

__all__ = [
    "Loss", "LossFunctionWrapper", "BinaryCrossentropy", "CategoricalCrossentropy", "CosineSimilarity", "Huber",
    "KLDivergence", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError",
    "SparseCategoricalCrossentropy", "binary_crossentropy", "categorical_crossentropy", "cosine_similarity", "huber",
    "kl_divergence", "kld", "mae", "mape", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_error", "mse", "sparse_categorical_crossentropy", "get", "serialize", "deserialize",
    "reduce_weighted_values", "squeeze_or_expand_to_same_rank",
]

# Each built-in function and the Loss class that wraps it; `get` turns a function's name into the class.
_FUNCTION_CLASSES: dict[Callable, type[Loss]] = {
    binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    huber: Huber,
    kl_divergence: KLDivergence,
    cosine_similarity: CosineSimilarity,
}
_CLASSES: dict[str, type[Loss]] = {
    cls.__name__: cls for cls in (Loss, LossFunctionWrapper, *_FUNCTION_CLASSES.values())
}
_FUNCTIONS: dict[str, Callable] = {fn.__name__: fn for fn in _FUNCTION_CLASSES}
_FUNCTIONS.update({"bce": bce, "BCE": BCE, "kld": kld, "KLD": KLD, "mae": mae, "MAE": MAE, "mape": mape,
                   "MAPE": MAPE, "mse": mse, "MSE": MSE})


def _unknown(identifier) -> ValueError:
    return ValueError(f"Could not interpret loss identifier: {identifier!r}. "
                      f"Expected one of: {', '.join(sorted({*_CLASSES, *_FUNCTIONS} - {'Loss'}))}, "
                      "a Loss instance or class, a config dict, or a function.")


def serialize(loss: Loss | Callable) -> dict[str, Any]:
    """A Keras-format config: `{"module", "class_name", "config", "registered_name"}` (Keras reads it too)."""
    if isinstance(loss, Loss):
        return {"module": "keras.losses", "class_name": type(loss).__name__, "config": loss.get_config(),
                "registered_name": None}
    if callable(loss) and hasattr(loss, "__name__"):
        return {"module": "builtins", "class_name": "function", "config": loss.__name__, "registered_name": "function"}
    raise TypeError(f"Cannot serialize {loss!r}: expected a Loss instance or a loss function")


def deserialize(config: dict[str, Any] | str, custom_objects: dict[str, Any] | None = None) -> Loss | Callable:
    """The loss `serialize` (or `keras.losses.serialize`) described: a Loss instance or a function.

    Args:
        config: a config dict, or a loss function's or class's name.
        custom_objects: extra names → classes or functions to look up.
    """
    custom = dict(custom_objects or {})
    if isinstance(config, str):
        obj = custom.get(config) or _FUNCTIONS.get(config) or _CLASSES.get(config)
        if obj is None:
            raise _unknown(config)
        return obj() if inspect.isclass(obj) else obj
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"A loss config must be a dict with a string 'class_name'. Received: {config!r}")
    class_name, inner = config["class_name"], config.get("config")
    if class_name == "function":
        return deserialize(inner, custom)
    cls = custom.get(class_name) or _CLASSES.get(class_name)
    if cls is None:
        raise _unknown(class_name)
    return cls.from_config(dict(inner or {}))


def get(identifier: Loss | str | dict | Callable | type | None) -> Loss | Callable | None:
    """A loss from a Keras identifier: a name (e.g. "mse", "sparse_categorical_crossentropy",
    "CategoricalCrossentropy"), a config dict, a Loss class or instance, or a function (returned as is).

    Names always give a `Loss` instance (a function's name gives its class, e.g. "mse" → `MeanSquaredError()`),
    so what `get` returns for a name accepts `sample_weight`.
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        fn = _FUNCTIONS.get(identifier)
        cls = _FUNCTION_CLASSES[fn] if fn is not None else _CLASSES.get(identifier)
        if cls is None or cls in (Loss, LossFunctionWrapper):
            raise _unknown(identifier)
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise _unknown(identifier)
