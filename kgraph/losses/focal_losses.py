"""Cross-entropies that focus on hard examples: binary and categorical focal losses, generalized CE."""

from __future__ import annotations

import warnings

from kgraph import config, ops
from kgraph.losses.losses import _BuiltinLoss, _as_pair, _check_same_shape


def _binary_crossentropy_elementwise(target, output):
    epsilon = config.epsilon()
    output = ops.clip(output, epsilon, 1.0 - epsilon)
    return ops.negative(ops.add(ops.multiply(target, ops.log(output)),
                                ops.multiply(ops.subtract(1.0, target), ops.log(ops.subtract(1.0, output)))))


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing: bool = False, alpha: float = 0.25,
                              gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1):
    """Binary cross-entropy times `(1 - p_t) ** gamma` (and the class weight `alpha` when balancing)."""
    y_true, y_pred = _as_pair(y_true, y_pred)
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    _check_same_shape(y_true, y_pred, "binary_focal_crossentropy")
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    bce = _binary_crossentropy_elementwise(y_true, y_pred)
    p_t = ops.add(ops.multiply(y_true, y_pred), ops.multiply(ops.subtract(1.0, y_true), ops.subtract(1.0, y_pred)))
    focal_bce = ops.multiply(ops.power(ops.subtract(1.0, p_t), gamma), bce)
    if apply_class_balancing:
        weight = ops.add(ops.multiply(y_true, alpha), ops.multiply(ops.subtract(1.0, y_true), 1.0 - alpha))
        focal_bce = ops.multiply(weight, focal_bce)
    return ops.mean(focal_bce, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha: float = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1):
    """Categorical cross-entropy per class times `alpha * (1 - p) ** gamma`, summed over `axis`."""
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")
    y_true, y_pred = _as_pair(y_true, y_pred)
    if ops.shape(y_pred)[-1] == 1:
        warnings.warn("In loss categorical_focal_crossentropy, expected y_pred.shape to be (batch_size, "
                      f"num_classes) with num_classes > 1. Received: y_pred.shape={ops.shape(y_pred)}. "
                      "Consider using 'binary_crossentropy' if you only have 2 classes.", SyntaxWarning, stacklevel=2)
    if label_smoothing:
        num_classes = ops.cast(ops.shape(y_true)[-1], y_pred.dtype)
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), ops.divide(label_smoothing, num_classes))
    _check_same_shape(y_true, y_pred, "categorical_focal_crossentropy")
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    output = ops.divide(y_pred, ops.sum(y_pred, axis=axis, keepdims=True))
    epsilon = config.epsilon()
    output = ops.clip(output, epsilon, 1.0 - epsilon)
    cce = ops.multiply(ops.negative(y_true), ops.log(output))
    weighting = ops.multiply(ops.power(ops.subtract(1.0, output), gamma), alpha)
    return ops.sum(ops.multiply(weighting, cce), axis=axis)


def categorical_generalized_cross_entropy(y_true, y_pred, q: float):
    """`(1 - p ** q) / q` for the predicted probability `p` of the integer label: robust to noisy labels."""
    y_pred = ops.convert_to_tensor(y_pred)
    one_hot = ops.one_hot(ops.cast(y_true, "int32"), ops.shape(y_pred)[-1], dtype=y_pred.dtype)
    p = ops.sum(ops.multiply(y_pred, one_hot), axis=-1)
    return ops.divide(ops.subtract(1.0, ops.power(p, q)), q)


class BinaryFocalCrossentropy(_BuiltinLoss):
    """Binary cross-entropy down-weighting well-classified examples (Lin et al., 2017).

    Args:
        apply_class_balancing: weigh positives by `alpha` and negatives by `1 - alpha`.
        alpha: the class-balancing weight.
        gamma: the focusing parameter; 0 gives binary cross-entropy.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: in [0, 1]; squeezes the labels towards 0.5.
        axis: the axis the elementwise losses are averaged over.
        reduction, name, dtype: see `Loss`.
    """

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction="sum_over_batch_size", name: str = "binary_focal_crossentropy", dtype=None):
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis
        self.apply_class_balancing, self.alpha, self.gamma = apply_class_balancing, alpha, gamma


class CategoricalFocalCrossentropy(_BuiltinLoss):
    """Categorical cross-entropy down-weighting well-classified examples.

    Args:
        alpha: the weighting factor.
        gamma: the focusing parameter; 0 gives (alpha-scaled) categorical cross-entropy.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: in [0, 1]; mixes the labels with the uniform distribution.
        axis: the class axis.
        reduction, name, dtype: see `Loss`.
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1, reduction="sum_over_batch_size",
                 name: str = "categorical_focal_crossentropy", dtype=None):
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name, dtype=dtype, alpha=alpha,
                         gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis
        self.alpha, self.gamma = alpha, gamma


class CategoricalGeneralizedCrossEntropy(_BuiltinLoss):
    """Generalized cross-entropy (Zhang & Sabuncu, 2018) for integer labels: between CE (q→0) and MAE (q=1).

    Args:
        q: in (0, 1].
        reduction, name, dtype: see `Loss`.
    """

    def __init__(self, q: float = 0.5, reduction="sum_over_batch_size",
                 name: str = "categorical_generalized_cross_entropy", dtype=None):
        if not 0 < q <= 1:
            raise ValueError(f"q must be in the interval (0, 1]. Received: q={q}")
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name, dtype=dtype, q=q)
        self.q = q
