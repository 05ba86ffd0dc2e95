"""Keras' built-in losses, as functions returning per-sample values and as `Loss` classes wrapping them."""

from __future__ import annotations

import warnings
from typing import Any, Callable

from kgraph import config, ops
from kgraph.losses.loss import Loss, squeeze_or_expand_to_same_rank
import kgraph.losses


class LossFunctionWrapper(Loss):
    """A `Loss` made from a function `fn(y_true, y_pred, **fn_kwargs)` returning per-sample losses.

    Args:
        fn: the loss function.
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the dtype of the computation.
        **fn_kwargs: keyword arguments passed on to `fn`.
    """

    def __init__(self, fn: Callable, reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype=None, **fn_kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = fn_kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fn": kgraph.losses.serialize(self.fn), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LossFunctionWrapper":
        config = dict(config)
        if "fn" in config and not callable(config["fn"]):
            config["fn"] = kgraph.losses.deserialize(config["fn"])
        return cls(**config)


class _BuiltinLoss(LossFunctionWrapper):
    """A built-in wrapper: its config is its constructor arguments, not the function."""

    def get_config(self) -> dict[str, Any]:
        return {**Loss.get_config(self), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Loss":
        return cls(**config)


# --- functions --------------------------------------------------------------------------------------


def _as_pair(y_true, y_pred):
    """Both as tensors of y_pred's dtype."""
    y_pred = ops.convert_to_tensor(y_pred)
    return ops.cast(y_true, y_pred.dtype), y_pred


def _same_dims(a: tuple, b: tuple) -> bool:
    """Whether two shapes agree, where a dim unknown while tracing (None or a traced dim) matches any."""
    return len(a) == len(b) and all(not isinstance(x, int) or not isinstance(y, int) or x == y for x, y in zip(a, b))


def _check_same_shape(target, output, what: str) -> None:
    """Keras' shape check."""
    t, o = ops.shape(target), ops.shape(output)
    if not _same_dims(t, o):
        raise ValueError(f"Arguments `target` and `output` of {what} must have the same shape. "
                         f"Received: target.shape={t}, output.shape={o}")


def mean_squared_error(y_true, y_pred):
    """mean(square(y_true - y_pred), axis=-1)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_as_pair(y_true, y_pred))
    return ops.mean(ops.square(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(abs(y_true - y_pred), axis=-1)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_as_pair(y_true, y_pred))
    return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_as_pair(y_true, y_pred))
    epsilon = ops.cast(config.epsilon(), y_pred.dtype)
    diff = ops.abs(ops.divide(ops.subtract(y_true, y_pred), ops.maximum(ops.abs(y_true), epsilon)))
    return ops.multiply(100.0, ops.mean(diff, axis=-1))


def _l2_normalize(x, axis: int):
    """x / ||x|| along `axis`, with the inverse norm capped at 1/epsilon (Keras' `normalize`)."""
    if ops.ndim(x) == 0:
        x = ops.expand_dims(x, 0)
    inv_norm = ops.rsqrt(ops.sum(ops.square(x), axis=axis, keepdims=True))
    return ops.multiply(x, ops.minimum(inv_norm, 1.0 / config.epsilon()))


def cosine_similarity(y_true, y_pred, axis: int = -1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): -1 for aligned vectors, 0 for orthogonal."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_as_pair(y_true, y_pred))
    return ops.negative(ops.sum(ops.multiply(_l2_normalize(y_true, axis), _l2_normalize(y_pred, axis)), axis=axis))


def huber(y_true, y_pred, delta: float = 1.0):
    """Mean over the last axis of 0.5·e² where |e| <= delta, else delta·|e| - 0.5·delta² (e = y_pred - y_true)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_as_pair(y_true, y_pred))
    delta = ops.cast(delta, y_pred.dtype)
    error = ops.subtract(y_pred, y_true)
    abs_error = ops.abs(error)
    quadratic = ops.multiply(0.5, ops.square(error))
    linear = ops.subtract(ops.multiply(delta, abs_error), ops.multiply(0.5, ops.square(delta)))
    return ops.mean(ops.where(ops.less_equal(abs_error, delta), quadratic, linear), axis=-1)


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred), axis=-1), both clipped to [epsilon, 1]."""
    y_true, y_pred = _as_pair(y_true, y_pred)
    y_true = ops.clip(y_true, config.epsilon(), 1)
    y_pred = ops.clip(y_pred, config.epsilon(), 1)
    return ops.sum(ops.multiply(y_true, ops.log(ops.divide(y_true, y_pred))), axis=-1)


def _log_probs(output, from_logits: bool, axis: int):
    """log of the class probabilities: log_softmax of logits, or log of renormalized, clipped probabilities."""
    if from_logits:
        return ops.log_softmax(output, axis=axis)
    output = ops.divide(output, ops.sum(output, axis=axis, keepdims=True))
    epsilon = config.epsilon()
    return ops.log(ops.clip(output, epsilon, 1.0 - epsilon))


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1):
    """Cross-entropy between one-hot (or soft) targets and predicted class probabilities or logits."""
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")
    y_true, y_pred = _as_pair(y_true, y_pred)
    if ops.shape(y_pred)[-1] == 1:
        warnings.warn(
            "In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, num_classes) with "
            f"num_classes > 1. Received: y_pred.shape={ops.shape(y_pred)}. Consider using 'binary_crossentropy' "
            "if you only have 2 classes.", SyntaxWarning, stacklevel=2)
    if label_smoothing:
        num_classes = ops.shape(y_true)[-1]
        num_classes = (ops.cast(num_classes, y_pred.dtype) if num_classes is not None
                       else ops.sum(ops.ones_like(y_true), axis=-1, keepdims=True))
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), ops.divide(label_smoothing, num_classes))
    _check_same_shape(y_true, y_pred, "categorical_crossentropy")
    return ops.negative(ops.sum(ops.multiply(y_true, _log_probs(y_pred, from_logits, axis)), axis=axis))


def _sparse_labels(y_true, y_pred, axis: int):
    """Integer-valued labels of y_pred's shape without the class axis (a trailing 1 is squeezed)."""
    if ops.ndim(y_true) == ops.ndim(y_pred) and ops.shape(y_true)[axis] == 1:
        y_true = ops.squeeze(y_true, axis)
    if ops.ndim(y_true) == ops.ndim(y_pred) and ops.shape(y_true)[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    return y_true


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False, ignore_class: int | None = None,
                                    axis: int = -1):
    """Cross-entropy between integer labels and predicted class probabilities or logits.

    Labels equal to `ignore_class` get a loss of 0 (`SparseCategoricalCrossentropy` also leaves them out
    of the average).
    """
    y_pred = ops.convert_to_tensor(y_pred)
    labels = _sparse_labels(ops.convert_to_tensor(y_true), y_pred, axis)
    if ops.ndim(y_pred) < 1 or not _same_dims(ops.shape(labels), ops.shape(y_pred)[:-1]):
        raise ValueError("Arguments `target` and `output` must have the same shape up until the last dimension: "
                         f"target.shape={ops.shape(labels)}, output.shape={ops.shape(y_pred)}")
    if ignore_class is not None:
        valid = ops.not_equal(labels, ops.cast(ignore_class, labels.dtype))
        labels = ops.where(valid, labels, 0)
    one_hot = ops.one_hot(ops.cast(labels, "int32"), ops.shape(y_pred)[axis], axis=axis, dtype=y_pred.dtype)
    result = ops.negative(ops.sum(ops.multiply(one_hot, _log_probs(y_pred, from_logits, axis)), axis=axis))
    if ignore_class is not None:
        result = ops.where(valid, result, 0.0)
    return result


def _log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), stable for large |x|."""
    return ops.negative(ops.softplus(ops.negative(x)))


def binary_crossentropy(y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1):
    """Mean over `axis` of the elementwise binary cross-entropy; smoothing squeezes labels towards 0.5."""
    y_true, y_pred = _as_pair(y_true, y_pred)
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    _check_same_shape(y_true, y_pred, "binary_crossentropy")
    if from_logits:
        bce = ops.subtract(ops.multiply(ops.negative(y_true), _log_sigmoid(y_pred)),
                           ops.multiply(ops.subtract(1.0, y_true), _log_sigmoid(ops.negative(y_pred))))
    else:
        epsilon = config.epsilon()
        output = ops.clip(y_pred, epsilon, 1.0 - epsilon)
        bce = ops.negative(ops.add(ops.multiply(y_true, ops.log(output)),
                                   ops.multiply(ops.subtract(1.0, y_true), ops.log(ops.subtract(1.0, output)))))
    return ops.mean(bce, axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
kld = KLD = kl_divergence
bce = BCE = binary_crossentropy


# --- classes -----------------------------------------------------------------------------------------

class MeanSquaredError(_BuiltinLoss):
    """Mean of squared errors, `mean(square(y_true - y_pred))`.

    Args:
        reduction: see `Loss`.
        name: defaults to "mean_squared_error".
        dtype: the dtype of the computation.
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(_BuiltinLoss):
    """Mean of absolute errors, `mean(abs(y_true - y_pred))`.

    Args:
        reduction: see `Loss`.
        name: defaults to "mean_absolute_error".
        dtype: the dtype of the computation.
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_BuiltinLoss):
    """Mean absolute percentage error, `100 * mean(abs((y_true - y_pred) / y_true))`.

    Args:
        reduction: see `Loss`.
        name: defaults to "mean_absolute_percentage_error".
        dtype: the dtype of the computation.
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_absolute_percentage_error",
                 dtype=None):
        super().__init__(mean_absolute_percentage_error, reduction=reduction, name=name, dtype=dtype)


class Huber(_BuiltinLoss):
    """Huber loss: quadratic for errors up to `delta`, linear beyond, so outliers weigh less than in MSE.

    Args:
        delta: where the loss turns from quadratic to linear.
        reduction: see `Loss`.
        name: defaults to "huber_loss".
        dtype: the dtype of the computation.
    """

    def __init__(self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size", name: str = "huber_loss",
                 dtype=None):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)


class KLDivergence(_BuiltinLoss):
    """Kullback-Leibler divergence, `y_true * log(y_true / y_pred)` summed over the last axis.

    Args:
        reduction: see `Loss`.
        name: defaults to "kl_divergence".
        dtype: the dtype of the computation.
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "kl_divergence", dtype=None):
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


class CosineSimilarity(_BuiltinLoss):
    """Negative cosine similarity, so that minimizing it aligns predictions with targets.

    Args:
        axis: the axis along which the similarity is computed.
        reduction: see `Loss`.
        name: defaults to "cosine_similarity".
        dtype: the dtype of the computation.
    """

    def __init__(self, axis: int = -1, reduction: str | None = "sum_over_batch_size", name: str = "cosine_similarity",
                 dtype=None):
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)


class BinaryCrossentropy(_BuiltinLoss):
    """Cross-entropy for binary (0 or 1) labels against probabilities or logits.

    Args:
        from_logits: whether `y_pred` holds logits rather than probabilities.
        label_smoothing: in [0, 1]; squeezes the labels towards 0.5.
        axis: the axis the elementwise losses are averaged over.
        reduction: see `Loss`.
        name: defaults to "binary_crossentropy".
        dtype: the dtype of the computation.
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class CategoricalCrossentropy(_BuiltinLoss):
    """Cross-entropy for one-hot labels against class probabilities or logits.

    Args:
        from_logits: whether `y_pred` holds logits rather than probabilities.
        label_smoothing: in [0, 1]; mixes the labels with the uniform distribution.
        axis: the class axis.
        reduction: see `Loss`.
        name: defaults to "categorical_crossentropy".
        dtype: the dtype of the computation.
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class SparseCategoricalCrossentropy(_BuiltinLoss):
    """Cross-entropy for integer labels against class probabilities or logits.

    Args:
        from_logits: whether `y_pred` holds logits rather than probabilities.
        ignore_class: a label value (e.g. a "void" class such as -1 or 255) whose entries are left out of
            the loss and of the average.
        reduction: see `Loss`.
        axis: the class axis.
        name: defaults to "sparse_categorical_crossentropy".
        dtype: the dtype of the computation.
    """

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = "sum_over_batch_size", axis: int = -1,
                 name: str = "sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def _loss_mask(self, y_true, y_pred):
        if self.ignore_class is None:
            return None
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        labels = _sparse_labels(y_true, y_pred, self.axis)
        return ops.not_equal(labels, ops.cast(self.ignore_class, labels.dtype))
