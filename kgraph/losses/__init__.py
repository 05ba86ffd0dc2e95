"""Keras 3 losses: `Loss` classes and functions, plus `get`/`serialize`/`deserialize` with Keras' names."""

from __future__ import annotations

import inspect
from typing import Any, Callable

from kgraph.identifiers import Identifiers
from kgraph.losses.focal_losses import (
    BinaryFocalCrossentropy, CategoricalFocalCrossentropy, CategoricalGeneralizedCrossEntropy,
    binary_focal_crossentropy, categorical_focal_crossentropy, categorical_generalized_cross_entropy,
)
from kgraph.losses.hinge_losses import (
    CategoricalHinge, Hinge, SquaredHinge, categorical_hinge, hinge, squared_hinge,
)
from kgraph.losses.loss import Loss, reduce_weighted_values, squeeze_or_expand_to_same_rank
from kgraph.losses.losses import (
    BCE, KLD, MAE, MAPE, MSE, BinaryCrossentropy, CategoricalCrossentropy, CosineSimilarity, Huber, KLDivergence,
    LossFunctionWrapper, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError,
    SparseCategoricalCrossentropy, bce, binary_crossentropy, categorical_crossentropy, cosine_similarity, huber,
    kl_divergence, kld, mae, mape, mean_absolute_error, mean_absolute_percentage_error, mean_squared_error, mse,
    sparse_categorical_crossentropy,
)
from kgraph.losses.overlap_losses import Dice, Tversky, dice, tversky
from kgraph.losses.regression_losses import (
    MSLE, LogCosh, MeanSquaredLogarithmicError, Poisson, log_cosh, logcosh, mean_squared_logarithmic_error, msle,
    poisson,
)
from kgraph.losses.sequence_losses import CTC, Circle, circle, ctc

__all__ = [
    "Loss", "LossFunctionWrapper", "BinaryCrossentropy", "BinaryFocalCrossentropy", "CTC", "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy", "CategoricalGeneralizedCrossEntropy", "CategoricalHinge", "Circle",
    "CosineSimilarity", "Dice", "Hinge", "Huber", "KLDivergence", "LogCosh", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanSquaredError", "MeanSquaredLogarithmicError", "Poisson",
    "SparseCategoricalCrossentropy", "SquaredHinge", "Tversky", "binary_crossentropy", "binary_focal_crossentropy",
    "categorical_crossentropy", "categorical_focal_crossentropy", "categorical_generalized_cross_entropy",
    "categorical_hinge", "circle", "cosine_similarity", "ctc", "dice", "hinge", "huber", "kl_divergence", "kld",
    "log_cosh", "mae", "mape", "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "mse", "msle", "poisson", "sparse_categorical_crossentropy",
    "squared_hinge", "tversky", "get", "serialize", "deserialize", "reduce_weighted_values",
    "squeeze_or_expand_to_same_rank",
]

# Each built-in function and the Loss class that wraps it; `get` turns a function's name into the class.
_FUNCTION_CLASSES: dict[Callable, type[Loss]] = {
    binary_crossentropy: BinaryCrossentropy,
    binary_focal_crossentropy: BinaryFocalCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    categorical_focal_crossentropy: CategoricalFocalCrossentropy,
    categorical_generalized_cross_entropy: CategoricalGeneralizedCrossEntropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    huber: Huber,
    kl_divergence: KLDivergence,
    cosine_similarity: CosineSimilarity,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
    log_cosh: LogCosh,
    poisson: Poisson,
    dice: Dice,
    tversky: Tversky,
    ctc: CTC,
    circle: Circle,
}
_FUNCTIONS: dict[str, Callable] = {fn.__name__: fn for fn in _FUNCTION_CLASSES}
_FUNCTIONS.update({"bce": bce, "BCE": BCE, "kld": kld, "KLD": KLD, "mae": mae, "MAE": MAE, "mape": mape,
                   "MAPE": MAPE, "mse": mse, "MSE": MSE, "msle": msle, "MSLE": MSLE, "logcosh": logcosh})
_IDENTIFIERS = Identifiers(
    "loss", "keras.losses", Loss,
    classes={cls.__name__: cls for cls in (Loss, LossFunctionWrapper, *_FUNCTION_CLASSES.values())},
    functions=_FUNCTIONS,
)


def serialize(loss: Loss | Callable) -> dict[str, Any]:
    """A Keras-format config: `{"module", "class_name", "config", "registered_name"}` (Keras reads it too)."""
    return _IDENTIFIERS.serialize(loss)


def deserialize(config: dict[str, Any] | str, custom_objects: dict[str, Any] | None = None) -> Loss | Callable:
    """The loss `serialize` (or `keras.losses.serialize`) described: a Loss instance or a function.

    Args:
        config: a config dict, or a loss function's or class's name.
        custom_objects: extra names → classes or functions to look up.
    """
    return _IDENTIFIERS.deserialize(config, custom_objects)


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
        cls = _FUNCTION_CLASSES[fn] if fn is not None else _IDENTIFIERS.classes.get(identifier)
        if cls is None or cls in (Loss, LossFunctionWrapper):
            raise _IDENTIFIERS.unknown(identifier)
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise _IDENTIFIERS.unknown(identifier)
