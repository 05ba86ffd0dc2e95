"""Overlap losses for segmentation: Dice and Tversky."""

from __future__ import annotations

from kgraph import config, ops
from kgraph.losses.losses import _BuiltinLoss


def dice(y_true, y_pred, axis=None):
    """1 - 2·sum(y_true·y_pred) / (sum(y_true) + sum(y_pred) + epsilon), over `axis` (all axes when None)."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    intersection = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    denominator = ops.add(ops.add(ops.sum(y_true, axis=axis), ops.sum(y_pred, axis=axis)), config.epsilon())
    return ops.subtract(1.0, ops.divide(ops.multiply(2.0, intersection), denominator))


def tversky(y_true, y_pred, alpha: float = 0.5, beta: float = 0.5, axis=None):
    """1 - TP / (TP + alpha·FP + beta·FN + epsilon) with soft counts; alpha = beta = 0.5 gives Dice."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    intersection = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    fp = ops.sum(ops.multiply(ops.subtract(1.0, y_pred), y_true), axis=axis)
    fn = ops.sum(ops.multiply(y_pred, ops.subtract(1.0, y_true)), axis=axis)
    denominator = ops.add(ops.add(ops.add(intersection, ops.multiply(fp, alpha)), ops.multiply(fn, beta)),
                          config.epsilon())
    return ops.subtract(1.0, ops.divide(intersection, denominator))


class Dice(_BuiltinLoss):
    """Dice loss, `1 - dice coefficient`.

    Args:
        reduction, name, dtype: see `Loss`.
        axis: the axes summed over; all when None.
    """

    def __init__(self, reduction="sum_over_batch_size", name: str = "dice", axis=None, dtype=None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class Tversky(_BuiltinLoss):
    """Tversky loss: Dice with separate weights on false positives (`alpha`) and false negatives (`beta`).

    Args:
        alpha, beta: the weights of false positives and false negatives.
        reduction, name, dtype: see `Loss`.
        axis: the axes summed over; all when None.
    """

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction="sum_over_batch_size",
                 name: str = "tversky", axis=None, dtype=None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha, beta=beta, axis=axis)
        self.alpha, self.beta, self.axis = alpha, beta, axis
