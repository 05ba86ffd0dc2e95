"""Accuracy metrics: how often predictions match labels (exact, thresholded, argmax, or within the top k)."""

from __future__ import annotations

import numpy as np

from kgraph import config, ops
from kgraph.losses.loss import squeeze_or_expand_to_same_rank
from kgraph.metrics.reduction_metrics import _BuiltinMeanMetric


def accuracy(y_true, y_pred):
    """1.0 where `y_true == y_pred`, else 0.0."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(ops.cast(y_true, y_pred.dtype), y_pred)
    return ops.cast(ops.equal(y_true, y_pred), config.floatx())


def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    """1.0 where `y_true` equals `y_pred > threshold`, else 0.0."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    y_pred = ops.cast(ops.greater(y_pred, ops.cast(threshold, y_pred.dtype)), y_true.dtype)
    return ops.cast(ops.equal(y_true, y_pred), config.floatx())


def categorical_accuracy(y_true, y_pred):
    """1.0 where the argmax of the one-hot `y_true` equals the argmax of `y_pred`, else 0.0."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(ops.argmax(y_true, axis=-1), y_pred.dtype)
    true_shape = ops.shape(y_true)
    reshape_matches = ops.ndim(y_true) == ops.ndim(y_pred)
    if reshape_matches:
        y_true = ops.squeeze(y_true, -1)
    y_pred = ops.cast(ops.argmax(y_pred, axis=-1), y_true.dtype)
    matches = ops.cast(ops.equal(y_true, y_pred), config.floatx())
    return ops.reshape(matches, true_shape) if reshape_matches else matches


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label `y_true` equals the argmax of `y_pred`, else 0.0."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    true_shape = ops.shape(y_true)
    reshape_matches = ops.ndim(y_true) == ops.ndim(y_pred) and true_shape[-1] == 1
    if reshape_matches:
        y_true = ops.squeeze(y_true, -1)
    y_pred = ops.cast(ops.argmax(y_pred, axis=-1), y_true.dtype)
    matches = ops.cast(ops.equal(y_true, y_pred), config.floatx())
    if reshape_matches:
        matches = ops.reshape(matches, true_shape)
    if ops.ndim(matches) > 1 and ops.shape(matches)[-1] == 1:
        matches = ops.squeeze(matches, -1)
    return matches


def _in_top_k(targets, predictions, k: int):
    """Whether each integer target's score ranks within the top `k` (ties count in its favour; NaN scores last)."""
    num_classes = ops.shape(predictions)[-1]
    is_target = ops.equal(ops.expand_dims(targets, -1), ops.cast(np.arange(num_classes), targets.dtype))
    at_label = ops.sum(ops.where(is_target, predictions, 0.0), axis=-1, keepdims=True)
    at_label = ops.where(ops.not_equal(at_label, at_label), -np.inf, at_label)
    rank = ops.add(1, ops.sum(ops.cast(ops.greater(predictions, at_label), "int32"), axis=-1))
    return ops.less_equal(rank, k)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """1.0 where the argmax of the one-hot `y_true` is among the `k` highest scores of `y_pred`, else 0.0."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(ops.argmax(ops.cast(y_true, y_pred.dtype), axis=-1), "int32")
    true_shape = ops.shape(y_true)
    if ops.ndim(y_pred) > 2:
        y_pred = ops.reshape(y_pred, (-1, ops.shape(y_pred)[-1]))
    if ops.ndim(y_true) > 1:
        y_true = ops.reshape(y_true, (-1,))
    matches = ops.cast(_in_top_k(y_true, y_pred, k), config.floatx())
    return ops.reshape(matches, true_shape) if len(true_shape) > 1 else matches


class Accuracy(_BuiltinMeanMetric):
    """How often predictions equal labels exactly.

    Args:
        name: defaults to "accuracy".
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(_BuiltinMeanMetric):
    """How often `y_pred > threshold` matches binary labels.

    Args:
        name: defaults to "binary_accuracy".
        dtype: the dtype of the state and result.
        threshold: the probability above which a prediction counts as 1.
    """

    def __init__(self, name: str = "binary_accuracy", dtype=None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(_BuiltinMeanMetric):
    """How often the argmax of predictions matches one-hot labels.

    Args:
        name: defaults to "categorical_accuracy".
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(_BuiltinMeanMetric):
    """How often the argmax of predictions matches integer labels.

    Args:
        name: defaults to "sparse_categorical_accuracy".
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(_BuiltinMeanMetric):
    """How often one-hot labels are among the `k` highest-scored classes.

    Args:
        k: how many of the top predictions to look at.
        name: defaults to "top_k_categorical_accuracy".
        dtype: the dtype of the state and result.
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5, from_sorted_ids: bool = False):
    """1.0 where the integer label is among the `k` highest-scored classes (or, with `from_sorted_ids`, among
    the first `k` of the class ids `y_pred` lists best first), else 0.0."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true, dtype=y_pred.dtype if from_sorted_ids else "int32")
    true_shape = ops.shape(y_true)
    if ops.ndim(y_pred) > 2:
        y_pred = ops.reshape(y_pred, (-1, ops.shape(y_pred)[-1]))
    reshape_matches = ops.ndim(y_true) > 1
    if reshape_matches:
        y_true = ops.reshape(y_true, (-1,))
    if from_sorted_ids:
        first_k = ops.slice(y_pred, (0, 0), (-1, k))
        matches = ops.greater(ops.sum(ops.cast(ops.equal(ops.expand_dims(y_true, 1), first_k), "int32"), axis=1), 0)
    else:
        matches = _in_top_k(y_true, y_pred, k)
    matches = ops.cast(matches, config.floatx())
    return ops.reshape(matches, true_shape) if reshape_matches else matches


class SparseTopKCategoricalAccuracy(_BuiltinMeanMetric):
    """How often integer labels are among the `k` highest-scored classes.

    Args:
        k: how many of the top predictions to look at.
        name: defaults to "sparse_top_k_categorical_accuracy".
        dtype: the dtype of the state and result.
        from_sorted_ids: `y_pred` holds class ids sorted best first rather than scores.
    """

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids: bool = False):
        kwargs = {"from_sorted_ids": True} if from_sorted_ids else {}
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k, **kwargs)
        self.k, self.from_sorted_ids = k, from_sorted_ids
