"""Label and vector helpers: one-hot encoding and normalization, as `keras.utils` has them."""

from __future__ import annotations

import numpy as np
from kgraph import ops


def to_categorical(x, num_classes: int | None = None) -> np.ndarray:
    """Integer class labels as one-hot rows (a trailing axis of size 1 is dropped first).

    Args:
        x: integer labels in `[0, num_classes)`, any shape.
        num_classes: the number of classes; `max(x) + 1` when None.
    """
    labels = np.asarray(x)
    if labels.dtype.kind not in "iub" and not (labels.dtype.kind == "f" and np.all(np.mod(labels, 1) == 0)):
        raise ValueError(f"`to_categorical` expects integer class labels. Received: x of dtype {labels.dtype}")
    labels = labels.astype("int64")
    shape = labels.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    labels = labels.reshape(-1)
    if num_classes is None or num_classes == 0:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise ValueError(f"`to_categorical` got label {int(bad)}, outside [0, num_classes) with "
                         f"num_classes={num_classes}. Pass num_classes greater than the largest label.")
    categorical = np.zeros((labels.shape[0], num_classes))
    categorical[np.arange(labels.shape[0]), labels] = 1
    return categorical.reshape(shape + (num_classes,))


def normalize(x, axis: int = -1, order: int = 2):
    """`x` divided by its `order`-norm along `axis` (zero vectors stay zero).

    Args:
        x: a NumPy array or a tensor.
        axis: the axis along which to normalize.
        order: the norm's order (2 for L2).
    """
    if isinstance(x, np.ndarray):
        norm = np.atleast_1d(np.linalg.norm(x, order, axis))
        norm[norm == 0] = 1
        return x / np.expand_dims(norm, axis)

    return ops.normalize(x, axis=axis, order=order)
