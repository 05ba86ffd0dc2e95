"""Confusion-matrix metrics: counts, Precision, Recall, AUC (ROC, PR) and rates at a constraint, per threshold."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from kgraph import config, ops
from kgraph.losses.loss import squeeze_or_expand_to_same_rank
from kgraph.metrics.metric import Metric
from kgraph.variables import Variable

NEG_INF = -1e10  # the threshold used with `top_k`: every prediction left after the top-k filter passes it

_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


def _parse_thresholds(thresholds, default: float) -> list[float]:
    """The thresholds as a list, checked to lie in [0, 1]; `default` when None."""
    if thresholds is None:
        return [default]
    thresholds = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    invalid = [t for t in thresholds if t is None or t < 0 or t > 1]
    if invalid:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")
    return thresholds


def _evenly_distributed(thresholds: Sequence[float]) -> bool:
    """Whether the thresholds are 0, 1/(n-1), ..., 1 (n >= 3), up to epsilon; Keras buckets predictions then."""
    n = len(thresholds)
    return n >= 3 and bool(np.allclose(thresholds, np.arange(n, dtype=np.float32) / (n - 1), atol=config.epsilon()))


def _take(x, index: int):
    """`x[..., index, None]`: one entry of the last axis, kept as a size-1 axis."""
    n = ops.shape(x)[-1]
    return ops.sum(ops.where(np.arange(n) == index, x, 0.0), axis=-1, keepdims=True)


def _rows(x, start: int, stop: int):
    """`x[start:stop]` along the first axis, built from a constant 0/1 selection (exact: adds only zeros)."""
    n = ops.shape(x)[0]
    select = np.eye(stop - start, n, k=start, dtype=bool).reshape((stop - start, n) + (1,) * (ops.ndim(x) - 1))
    return ops.sum(ops.where(select, ops.expand_dims(x, 0), 0.0), axis=1)


def _filter_top_k(x, k: int):
    """Keeps the `k` largest values of the last axis (earlier index first among ties) and sets the rest to NEG_INF."""
    n = ops.shape(x)[-1]
    earlier = np.arange(n)[None, :] < np.arange(n)[:, None]  # [i, j]: j comes before i
    xi, xj = ops.expand_dims(x, -1), ops.expand_dims(x, -2)
    ahead = ops.logical_or(ops.greater(xj, xi), ops.logical_and(ops.equal(xj, xi), earlier))
    rank = ops.sum(ops.cast(ahead, "int32"), axis=-1)
    keep = ops.cast(ops.less(rank, k), x.dtype)
    return ops.add(ops.multiply(x, keep), ops.multiply(NEG_INF, ops.subtract(1.0, keep)))


def update_confusion_matrix(variables: dict[str, Variable], y_true, y_pred, thresholds: Sequence[float],
                            thresholds_distributed_evenly: bool = False, top_k: int | None = None,
                            class_id: int | None = None, sample_weight=None, multi_label: bool = False,
                            label_weights=None) -> None:
    """Adds the weighted counts of predictions > each threshold to `variables` ("tp", "fp", "tn", "fn" →
    Variables of shape (thresholds,) or, with `multi_label`, (thresholds, labels)), exactly as Keras counts."""
    dtype = next(iter(variables.values())).dtype
    y_true, y_pred = ops.cast(y_true, dtype), ops.cast(y_pred, dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = ops.expand_dims(ops.cast(sample_weight, dtype), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if ops.ndim(y_pred) == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {ops.shape(y_pred)}")
        y_true, y_pred = _take(y_true, class_id), _take(y_pred, class_id)

    weights = None
    if sample_weight is not None:
        weights = ops.multiply(sample_weight, ops.ones_like(y_pred))
    if label_weights is not None and not multi_label:
        label_weights = ops.multiply(ops.expand_dims(ops.cast(label_weights, dtype), 0), ops.ones_like(y_pred))
        weights = label_weights if weights is None else ops.multiply(weights, label_weights)
    if not multi_label:
        y_true, y_pred = ops.reshape(y_true, (-1,)), ops.reshape(y_pred, (-1,))
        weights = None if weights is None else ops.reshape(weights, (-1,))

    num_thresholds = len(thresholds)
    per_threshold = (num_thresholds,) + (1,) * ops.ndim(y_pred)  # thresholds lead, data dims follow
    if thresholds_distributed_evenly:
        # Keras' bucketing: bucket b = ceil(p * (T - 1)) - 1 is positive at thresholds 0..b.
        bucket = ops.subtract(ops.ceil(ops.multiply(ops.clip(y_pred, 0.0, 1.0), float(num_thresholds - 1))), 1.0)
        if thresholds[0] < 0.0 or thresholds[-1] > 1.0:
            bucket = ops.maximum(bucket, 0.0)
        index = np.arange(num_thresholds, dtype=np.float32).reshape(per_threshold)
        pred_is_pos = ops.greater_equal(ops.expand_dims(bucket, 0), ops.cast(index, dtype))
    else:
        values = ops.cast(np.asarray(thresholds, dtype=np.float64).reshape(per_threshold), dtype)
        pred_is_pos = ops.greater(ops.expand_dims(y_pred, 0), values)
    label_is_pos = ops.expand_dims(ops.cast(y_true, "bool"), 0)
    conditions = {
        "tp": (label_is_pos, pred_is_pos),
        "fp": (ops.logical_not(label_is_pos), pred_is_pos),
        "tn": (ops.logical_not(label_is_pos), ops.logical_not(pred_is_pos)),
        "fn": (label_is_pos, ops.logical_not(pred_is_pos)),
    }
    for key, variable in variables.items():
        both = ops.logical_and(*conditions[key])
        counted = ops.cast(both, dtype) if weights is None else ops.where(both, ops.expand_dims(weights, 0), 0.0)
        variable.assign(ops.add(variable.value, ops.sum(counted, axis=1)))


class _PrecisionRecall(Metric):
    """Shared state of Precision and Recall: true positives and one other count per threshold."""

    _other = ""  # "fp" for Precision, "fn" for Recall

    def __init__(self, thresholds=None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._thresholds_distributed_evenly = _evenly_distributed(self.thresholds)
        shape = (len(self.thresholds),)
        self.true_positives = self.add_variable(shape, "zeros", name="true_positives")
        other_name = {"fp": "false_positives", "fn": "false_negatives"}[self._other]
        self._other_count = self.add_variable(shape, "zeros", name=other_name)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Accumulates the counts; `y_true` is cast to bool, `sample_weight` broadcasts to `y_true`."""
        update_confusion_matrix(
            {"tp": self.true_positives, self._other: self._other_count}, y_true, y_pred, self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly, top_k=self.top_k,
            class_id=self.class_id, sample_weight=sample_weight)

    def result(self):
        tp = self.true_positives.value
        result = ops.divide_no_nan(tp, ops.add(tp, self._other_count.value))
        return ops.squeeze(result, 0) if len(self.thresholds) == 1 else result

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """The fraction of positive predictions that are right: TP / (TP + FP), per threshold.

    Args:
        thresholds: a float or list of floats in [0, 1]; a prediction above a threshold counts as
            positive (use 0 with logits). Defaults to 0.5, or to "the top-k" when `top_k` is set.
        top_k: only the `top_k` highest predictions of each sample count as positive.
        class_id: compute the metric for this class (an index into the last axis) only.
        name: defaults to "precision".
        dtype: the dtype of the result.
    """

    _other = "fp"

    @property
    def false_positives(self) -> Variable:
        return self._other_count


class Recall(_PrecisionRecall):
    """The fraction of positive labels that are found: TP / (TP + FN), per threshold.

    Args:
        thresholds: a float or list of floats in [0, 1]; a prediction above a threshold counts as
            positive (use 0 with logits). Defaults to 0.5, or to "the top-k" when `top_k` is set.
        top_k: only the `top_k` highest predictions of each sample count as positive.
        class_id: compute the metric for this class (an index into the last axis) only.
        name: defaults to "recall".
        dtype: the dtype of the result.
    """

    _other = "fn"

    @property
    def false_negatives(self) -> Variable:
        return self._other_count


class AUC(Metric):
    """Area under the ROC or precision-recall curve, approximated by a Riemann sum over fixed thresholds.

    Args:
        num_thresholds: how many thresholds discretize the curve (> 1).
        curve: "ROC" (default), "PR" (precision-recall) or "PRGAIN".
        summation_method: "interpolation" (default; trapezoids for ROC, Davis & Goadrich for PR),
            "minoring" (a lower bound) or "majoring" (an upper bound).
        name: defaults to "auc".
        dtype: the dtype of the result.
        thresholds: explicit thresholds in [0, 1], replacing `num_thresholds`; -epsilon and 1+epsilon are
            added so that predictions of exactly 0 and 1 are handled.
        multi_label: compute one AUC per label (the last axis) and average them, instead of flattening.
        num_labels: the number of labels with `multi_label`; without it the state is created on the
            first (eager) `update_state`.
        label_weights: per-label weights: of the label AUCs' average with `multi_label`, else of the
            flattened predictions.
        from_logits: whether predictions are logits (a sigmoid is applied first).
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype=None, thresholds: Sequence[float] | None = None,
                 multi_label: bool = False, num_labels: int | None = None, label_weights=None,
                 from_logits: bool = False):
        if str(curve).lower() not in _CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]')
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             'Expected values are ["interpolation", "majoring", "minoring"]')
        super().__init__(name=name, dtype=dtype)
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            thresholds = sorted(thresholds)
            self._thresholds_distributed_evenly = _evenly_distributed([0.0, *thresholds, 1.0])
        else:
            if num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        epsilon = config.epsilon()
        self._thresholds = np.array([0.0 - epsilon, *thresholds, 1.0 + epsilon])
        self.curve = _CURVES[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, dtype=self.dtype)
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build(num_labels)
        elif num_labels:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        else:
            self._build(None)

    def build_for_output_shape(self, y_pred_shape, y_true_shape=None) -> None:
        """With `multi_label`, creates the per-label counts for predictions of shape `(batch, labels)`."""
        if not self._built and len(y_pred_shape) == 2 and y_pred_shape[1] is not None:
            self._build(y_pred_shape[1])

    @property
    def thresholds(self) -> list[float]:
        """The thresholds, including the -epsilon and 1+epsilon end points."""
        return list(self._thresholds)

    def _build(self, num_labels: int | None) -> None:
        shape = (self.num_thresholds,) if num_labels is None else (self.num_thresholds, num_labels)
        self._num_labels = num_labels
        self.true_positives = self.add_variable(shape, "zeros", name="true_positives")
        self.false_positives = self.add_variable(shape, "zeros", name="false_positives")
        self.true_negatives = self.add_variable(shape, "zeros", name="true_negatives")
        self.false_negatives = self.add_variable(shape, "zeros", name="false_negatives")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Accumulates the confusion counts at every threshold."""
        if not self._built:
            shape = ops.shape(y_pred)
            if len(shape) != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {len(shape)}. "
                                 f"Full shape received for `y_pred`: {shape}")
            self._build(shape[1])
        if self._from_logits:
            y_pred = ops.sigmoid(y_pred)
        update_confusion_matrix(
            {"tp": self.true_positives, "tn": self.true_negatives, "fp": self.false_positives,
             "fn": self.false_negatives},
            y_true, y_pred, self._thresholds, thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights)

    def _average_labels(self, by_threshold):
        """Sums the per-interval terms into the AUC, averaging the label AUCs when `multi_label`."""
        if not self.multi_label:
            return ops.sum(by_threshold)
        by_label = ops.sum(by_threshold, axis=0)
        if self.label_weights is None:
            return ops.mean(by_label)
        return ops.divide_no_nan(ops.sum(ops.multiply(by_label, self.label_weights)), ops.sum(self.label_weights))

    def _interpolate_pr_auc(self, tp, fp, fn):
        """PR-AUC with precision interpolated as Davis & Goadrich (2006) do: TP and FP vary linearly
        between thresholds, so each interval's area has a closed form."""
        n = self.num_thresholds
        tp_head, tp_tail = _rows(tp, 0, n - 1), _rows(tp, 1, n)
        p = ops.add(tp, fp)
        p_head, p_tail = _rows(p, 0, n - 1), _rows(p, 1, n)
        dtp = ops.subtract(tp_head, tp_tail)
        prec_slope = ops.divide_no_nan(dtp, ops.maximum(ops.subtract(p_head, p_tail), 0.0))
        intercept = ops.subtract(tp_tail, ops.multiply(prec_slope, p_tail))
        safe_p_ratio = ops.where(
            ops.logical_and(ops.greater(p_head, 0.0), ops.greater(p_tail, 0.0)),
            ops.divide_no_nan(p_head, ops.maximum(p_tail, 0.0)),
            ops.ones_like(p_tail))
        increments = ops.divide_no_nan(
            ops.multiply(prec_slope, ops.add(dtp, ops.multiply(intercept, ops.log(safe_p_ratio)))),
            ops.maximum(ops.add(tp_tail, _rows(fn, 1, n)), 0.0))
        return self._average_labels(increments)

    def result(self):
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc(tp, fp, fn)
        recall = ops.divide_no_nan(tp, ops.add(tp, fn))
        if self.curve == "ROC":
            x, y = ops.divide_no_nan(fp, ops.add(fp, tn)), recall
        elif self.curve == "PR":
            x, y = recall, ops.divide_no_nan(tp, ops.add(tp, fp))
        else:  # PRGAIN; the clamps follow Keras (no true positives: recall gain 0, precision gain 1)
            scale = ops.divide_no_nan(ops.add(tp, fn), ops.add(tn, fp))
            recall_gain = ops.subtract(1.0, ops.multiply(scale, ops.divide_no_nan(fn, tp)))
            precision_gain = ops.subtract(1.0, ops.multiply(scale, ops.divide_no_nan(fp, tp)))
            no_tp = ops.equal(tp, 0.0)
            x = ops.maximum(ops.where(no_tp, 0.0, recall_gain), 0.0)
            y = ops.where(no_tp, 1.0, precision_gain)
        n = self.num_thresholds
        y_head, y_tail = _rows(y, 0, n - 1), _rows(y, 1, n)
        if self.summation_method == "interpolation":
            heights = ops.divide(ops.add(y_head, y_tail), 2.0)
        elif self.summation_method == "minoring":
            heights = ops.minimum(y_head, y_tail)
        else:
            heights = ops.maximum(y_head, y_tail)
        return self._average_labels(ops.multiply(ops.subtract(_rows(x, 0, n - 1), _rows(x, 1, n)), heights))

    def get_config(self) -> dict[str, Any]:
        config_ = {
            **super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
            "summation_method": self.summation_method, "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config_["thresholds"] = self.thresholds[1:-1]
        return config_


class _ConditionCount(Metric):
    """One confusion-matrix count ("tp", "fp", "tn" or "fn") per threshold."""

    _condition = ""

    def __init__(self, thresholds=None, name: str | None = None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, 0.5)
        self._thresholds_distributed_evenly = _evenly_distributed(self.thresholds)
        self.accumulator = self.add_variable((len(self.thresholds),), "zeros", name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        update_confusion_matrix({self._condition: self.accumulator}, y_true, y_pred, self.thresholds,
                                thresholds_distributed_evenly=self._thresholds_distributed_evenly,
                                sample_weight=sample_weight)

    def result(self):
        value = self.accumulator.value
        return ops.squeeze(value, 0) if len(self.thresholds) == 1 else value

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


def _condition_count(class_name: str, condition: str, what: str):
    doc = (f"The weighted number of {what} at each threshold.\n\n    Args:\n        thresholds: a float or list of "
           "floats in [0, 1]; a prediction above one counts as positive (default 0.5).\n"
           "        name, dtype: the metric's name and state dtype.\n")
    return type(class_name, (_ConditionCount,), {"_condition": condition, "__doc__": doc, "__module__": __name__})


TruePositives = _condition_count("TruePositives", "tp", "true positives")
FalsePositives = _condition_count("FalsePositives", "fp", "false positives")
TrueNegatives = _condition_count("TrueNegatives", "tn", "true negatives")
FalseNegatives = _condition_count("FalseNegatives", "fn", "false negatives")


class _AtConstraint(Metric):
    """The best value of one rate among the thresholds where another rate meets `value` (Keras' grid of
    `num_thresholds` evenly spaced thresholds)."""

    _value_name = ""

    def __init__(self, value: float, num_thresholds: int = 200, class_id: int | None = None, name: str | None = None,
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        if not 0 <= value <= 1:
            raise ValueError(f"Argument `{self._value_name}` must be in the range [0, 1]. "
                             f"Received: {self._value_name}={value}")
        if num_thresholds <= 0:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 0. Received: num_thresholds={num_thresholds}")
        self.value, self.class_id, self.num_thresholds = value, class_id, num_thresholds
        if num_thresholds == 1:
            self.thresholds, self._thresholds_distributed_evenly = [0.5], False
        else:
            self.thresholds = [0.0] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0]
            self._thresholds_distributed_evenly = True
        shape = (len(self.thresholds),)
        self.true_positives = self.add_variable(shape, "zeros", name="true_positives")
        self.false_positives = self.add_variable(shape, "zeros", name="false_positives")
        self.true_negatives = self.add_variable(shape, "zeros", name="true_negatives")
        self.false_negatives = self.add_variable(shape, "zeros", name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        update_confusion_matrix(
            {"tp": self.true_positives, "tn": self.true_negatives, "fp": self.false_positives,
             "fn": self.false_negatives},
            y_true, y_pred, self.thresholds, thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            class_id=self.class_id, sample_weight=sample_weight)

    def _rates(self):
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        return {"recall": ops.divide_no_nan(tp, ops.add(tp, fn)), "precision": ops.divide_no_nan(tp, ops.add(tp, fp)),
                "specificity": ops.divide_no_nan(tn, ops.add(tn, fp))}

    def _best(self, constrained, dependent):
        """max(dependent where constrained >= value), 0 when none qualifies."""
        return ops.maximum(ops.max(ops.where(ops.greater_equal(constrained, self.value), dependent, 0.0)), 0.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self._value_name: self.value}


class SensitivityAtSpecificity(_AtConstraint):
    """The best sensitivity (recall) where specificity >= `specificity`.

    Args:
        specificity: in [0, 1].
        num_thresholds: the number of thresholds tried.
        class_id: the class to compute it for, from multi-class predictions.
        name, dtype: the metric's name and state dtype.
    """

    _value_name = "specificity"

    def __init__(self, specificity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def result(self):
        rates = self._rates()
        return self._best(rates["specificity"], rates["recall"])


class SpecificityAtSensitivity(_AtConstraint):
    """The best specificity where sensitivity (recall) >= `sensitivity`.

    Args:
        sensitivity: in [0, 1].
        num_thresholds, class_id, name, dtype: as in `SensitivityAtSpecificity`.
    """

    _value_name = "sensitivity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def result(self):
        rates = self._rates()
        return self._best(rates["recall"], rates["specificity"])


class PrecisionAtRecall(_AtConstraint):
    """The best precision where recall >= `recall`.

    Args:
        recall: in [0, 1].
        num_thresholds, class_id, name, dtype: as in `SensitivityAtSpecificity`.
    """

    _value_name = "recall"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def result(self):
        rates = self._rates()
        return self._best(rates["recall"], rates["precision"])


class RecallAtPrecision(_AtConstraint):
    """The best recall where precision >= `precision`.

    Args:
        precision: in [0, 1].
        num_thresholds, class_id, name, dtype: as in `SensitivityAtSpecificity`.
    """

    _value_name = "precision"

    def __init__(self, precision: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def result(self):
        rates = self._rates()
        return self._best(rates["precision"], rates["recall"])
