"""The Loss base class and Keras' rules for weighting and reducing per-sample losses.

Everything is written with `kgraph.ops`, so a loss runs eagerly, inside `jax.jit`, and on symbolic
tensors while a model is traced (where the batch dim is unknown).
"""

from __future__ import annotations

import re
from typing import Any

from kgraph import config, ops
from kgraph.ir.types import canonical_dtype

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def to_snake_case(name: str) -> str:
    """Keras' default object names: `SparseCategoricalCrossentropy` → `sparse_categorical_crossentropy`."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def standardize_reduction(reduction: str | None) -> str | None:
    """Returns `reduction` if Keras allows it, else raises a ValueError listing the allowed values."""
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid value for argument `reduction`. Expected one of {REDUCTIONS}. Received: reduction={reduction!r}"
        )
    return reduction


class Loss:
    """Base class of losses: subclasses implement `call(y_true, y_pred)` returning per-sample values.

    Args:
        name: the loss's name; defaults to the snake_case class name.
        reduction: how `__call__` aggregates the weighted values: `"sum_over_batch_size"` (the default)
            and `"mean"` average over all elements, `"sum"` sums them, `"mean_with_sample_weight"` divides
            the sum by the sum of the sample weights, `"none"` or `None` returns them unreduced.
        dtype: the dtype of the computation; defaults to `kgraph.config.floatx()`.
    """

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size", dtype=None):
        self.name = name or to_snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = canonical_dtype(dtype or config.floatx())

    @property
    def dtype(self) -> str:
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Per-sample losses from `call`, weighted by `sample_weight` and reduced by `self.reduction`."""
        y_true = ops.convert_to_tensor(y_true, dtype=self.dtype)
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        values = self.call(y_true, y_pred)
        mask = self._loss_mask(y_true, y_pred)
        return reduce_weighted_values(values, sample_weight, mask, self.reduction, self.dtype)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement `call(y_true, y_pred)`")

    def _loss_mask(self, y_true, y_pred):
        """A bool mask of the per-sample values that count (like the Keras mask a loss may set), or None."""
        return None

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Loss":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1: bool = True):
    """Keras' rank alignment: when ranks differ by one and the longer one ends in 1, squeeze it (or expand
    the other when that is rank 1 and `expand_rank_1`)."""
    rank1, rank2 = ops.ndim(x1), ops.ndim(x2)
    if rank1 == rank2 + 1 and ops.shape(x1)[-1] == 1:
        if rank2 == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, -1)
    if rank2 == rank1 + 1 and ops.shape(x2)[-1] == 1:
        if rank1 == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, -1)
    return x1, x2


def apply_mask(sample_weight, mask, dtype: str, reduction: str | None):
    """Merges a bool `mask` into `sample_weight`; for averaging reductions valid entries are scaled by
    total/valid so that the average runs over the valid entries only (Keras' rule)."""
    if mask is None:
        return sample_weight
    if reduction in ("mean", "sum_over_batch_size"):
        total = ops.sum(ops.ones_like(mask, dtype=dtype))
        valid = ops.sum(ops.cast(mask, dtype))
        float_mask = ops.where(mask, ops.divide_no_nan(total, valid), 0.0)
    else:
        float_mask = ops.cast(mask, dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, ops.cast(sample_weight, dtype))
    return ops.multiply(sample_weight, float_mask)


def reduce_values(values, sample_weight=None, reduction: str | None = "sum_over_batch_size"):
    """Reduces already weighted `values`; scalars and empty vectors are returned as they are."""
    shape = ops.shape(values)
    if reduction in (None, "none") or shape == () or shape == (0,):
        return values
    if reduction == "sum":
        return ops.sum(values)
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return ops.divide_no_nan(ops.sum(values), ops.sum(ops.cast(sample_weight, values.dtype)))
    # "sum_over_batch_size", "mean", unweighted "mean_with_sample_weight": sum / number of elements.
    return ops.mean(values)


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction: str | None = "sum_over_batch_size",
                           dtype=None):
    """Applies `mask` and `sample_weight` (aligned to `values`' rank as Keras does), then reduces."""
    reduction = standardize_reduction(reduction)
    values = ops.convert_to_tensor(values, dtype=dtype)
    dtype = canonical_dtype(values.dtype)
    if sample_weight is not None:
        sample_weight = ops.convert_to_tensor(sample_weight, dtype=dtype)
    sample_weight = apply_mask(sample_weight, mask, dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = ops.multiply(values, sample_weight)
    return reduce_values(values, sample_weight, reduction)
