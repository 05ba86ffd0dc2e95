"""Intersection-over-union metrics, accumulated in a confusion matrix as Keras does."""

from __future__ import annotations

from typing import Any

import numpy as np

from kgraph import config, ops
from kgraph.metrics.metric import Metric


class _IoUBase(Metric):
    """A `(num_classes, num_classes)` confusion matrix (rows: labels, columns: predictions)."""

    def __init__(self, num_classes: int, name: str | None = None, dtype=None, ignore_class: int | None = None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(name=name, dtype=dtype or "int32")
        self.num_classes, self.ignore_class = num_classes, ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        self.total_cm = self.add_variable((num_classes, num_classes), "zeros", dtype=self.dtype,
                                          name="total_confusion_matrix")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if not self.sparse_y_true:
            y_true = ops.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = ops.argmax(y_pred, axis=self.axis)
        y_true = ops.reshape(ops.convert_to_tensor(y_true, dtype=self.dtype), (-1,))
        y_pred = ops.reshape(ops.convert_to_tensor(y_pred, dtype=self.dtype), (-1,))
        weight = ops.ones_like(y_true) if sample_weight is None else ops.multiply(
            ops.reshape(ops.convert_to_tensor(sample_weight, dtype=self.dtype), (-1,)), ops.ones_like(y_true))
        in_bounds = ops.logical_and(
            ops.logical_and(ops.greater_equal(y_true, 0), ops.less(y_true, self.num_classes)),
            ops.logical_and(ops.greater_equal(y_pred, 0), ops.less(y_pred, self.num_classes)))
        if self.ignore_class is not None:
            in_bounds = ops.logical_and(in_bounds, ops.not_equal(y_true, self.ignore_class))
        weight = ops.where(in_bounds, weight, 0)
        classes = np.arange(self.num_classes)
        true_hot = ops.cast(ops.equal(ops.expand_dims(ops.cast(y_true, "int32"), -1), classes), self.dtype)
        pred_hot = ops.cast(ops.equal(ops.expand_dims(ops.cast(y_pred, "int32"), -1), classes), self.dtype)
        current = ops.matmul(ops.transpose(ops.multiply(true_hot, ops.expand_dims(weight, -1))), pred_hot)
        self.total_cm.assign_add(ops.cast(current, self.dtype))

    def _per_class(self):
        cm = ops.cast(self.total_cm.value, "float32")
        eye = np.eye(self.num_classes, dtype=bool)
        true_positives = ops.sum(ops.where(eye, cm, 0.0), axis=0)
        denominator = ops.subtract(ops.add(ops.sum(cm, axis=0), ops.sum(cm, axis=1)), true_positives)
        return true_positives, denominator

    def _iou(self, target_class_ids):
        true_positives, denominator = self._per_class()
        select = np.eye(self.num_classes, dtype=np.float32)[list(target_class_ids)]
        true_positives = ops.matmul(select, true_positives)
        denominator = ops.matmul(select, denominator)
        valid = ops.greater(denominator, 1e-9)
        iou = ops.where(valid, ops.divide(true_positives, ops.add(denominator, config.epsilon())), 0.0)
        return ops.divide(ops.sum(iou), ops.add(ops.sum(ops.cast(valid, "float32")), config.epsilon()))


class IoU(_IoUBase):
    """Mean intersection-over-union of the classes in `target_class_ids`.

    Args:
        num_classes: the number of classes.
        target_class_ids: the classes whose IoU is averaged.
        name, dtype: the metric's name and state dtype.
        ignore_class: a label left out of the counts.
        sparse_y_true, sparse_y_pred: whether labels/predictions are class ids (else their argmax is taken).
        axis: the class axis of non-sparse inputs.
    """

    def __init__(self, num_classes: int, target_class_ids, name: str | None = None, dtype=None,
                 ignore_class: int | None = None, sparse_y_true: bool = True, sparse_y_pred: bool = True,
                 axis: int = -1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which is [0, {num_classes}).")
        self.target_class_ids = list(target_class_ids)

    def result(self):
        return self._iou(self.target_class_ids)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of binary labels against predictions thresholded at `threshold`.

    Args:
        target_class_ids: (0,), (1,) or (0, 1): the classes averaged.
        threshold: predictions >= it count as class 1.
        name, dtype: the metric's name and state dtype.
    """

    def __init__(self, target_class_ids=(0, 1), threshold: float = 0.5, name: str | None = None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = ops.cast(ops.greater_equal(ops.convert_to_tensor(y_pred, dtype="float32"), self.threshold),
                          self.dtype)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class MeanIoU(IoU):
    """Mean intersection-over-union over all classes.

    Args:
        num_classes: the number of classes.
        name, dtype, ignore_class, sparse_y_true, sparse_y_pred, axis: as in `IoU`.
    """

    def __init__(self, num_classes: int, name: str | None = None, dtype=None, ignore_class: int | None = None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """`IoU` for one-hot labels (and, unless `sparse_y_pred`, class scores).

    Args:
        num_classes, target_class_ids, name, dtype, ignore_class, sparse_y_pred, axis: as in `IoU`.
    """

    def __init__(self, num_classes: int, target_class_ids, name: str | None = None, dtype=None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """`MeanIoU` for one-hot labels (and, unless `sparse_y_pred`, class scores).

    Args:
        num_classes, name, dtype, ignore_class, sparse_y_pred, axis: as in `IoU`.
    """

    def __init__(self, num_classes: int, name: str | None = None, dtype=None, ignore_class: int | None = None,
                 sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
