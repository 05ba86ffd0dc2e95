"""Hinge losses (maximum-margin classification), as Keras computes them."""

from __future__ import annotations

from kgraph import ops
from kgraph.losses.loss import squeeze_or_expand_to_same_rank
from kgraph.losses.losses import _BuiltinLoss, _as_pair


def convert_binary_labels_to_hinge(y_true):
    """0/1 labels as -1/1 (labels already in another form are left as they are)."""
    binary = ops.logical_or(ops.equal(y_true, 0), ops.equal(y_true, 1))
    is_binary = ops.equal(ops.min(ops.cast(binary, "int32")), 1)
    return ops.where(is_binary, ops.subtract(ops.multiply(2.0, y_true), 1.0), y_true)


def _margins(y_true, y_pred):
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_as_pair(y_true, y_pred))
    y_true = convert_binary_labels_to_hinge(y_true)
    return ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0)


def hinge(y_true, y_pred):
    """mean(maximum(1 - y_true * y_pred, 0), axis=-1), with 0/1 labels read as -1/1."""
    return ops.mean(_margins(y_true, y_pred), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1), with 0/1 labels read as -1/1."""
    return ops.mean(ops.square(_margins(y_true, y_pred)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) over the last axis (one-hot labels)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_as_pair(y_true, y_pred))
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.subtract(neg, pos), 1.0), 0.0)


class Hinge(_BuiltinLoss):
    """`maximum(1 - y_true * y_pred, 0)` averaged; labels -1/1 (0/1 are converted).

    Args:
        reduction, name, dtype: see `Loss`.
    """

    def __init__(self, reduction="sum_over_batch_size", name: str = "hinge", dtype=None):
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(_BuiltinLoss):
    """`square(maximum(1 - y_true * y_pred, 0))` averaged; labels -1/1 (0/1 are converted).

    Args:
        reduction, name, dtype: see `Loss`.
    """

    def __init__(self, reduction="sum_over_batch_size", name: str = "squared_hinge", dtype=None):
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(_BuiltinLoss):
    """`maximum(neg - pos + 1, 0)` for one-hot labels (see `categorical_hinge`).

    Args:
        reduction, name, dtype: see `Loss`.
    """

    def __init__(self, reduction="sum_over_batch_size", name: str = "categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, reduction=reduction, name=name, dtype=dtype)
