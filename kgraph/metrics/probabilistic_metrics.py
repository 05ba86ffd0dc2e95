"""Running means of the probabilistic losses, hinge losses and cosine similarity, as Keras' metrics."""

from __future__ import annotations

from kgraph import ops
from kgraph.losses.hinge_losses import categorical_hinge, hinge, squared_hinge
from kgraph.losses.loss import squeeze_or_expand_to_same_rank
from kgraph.losses.losses import (
    _l2_normalize, binary_crossentropy, categorical_crossentropy, kl_divergence, sparse_categorical_crossentropy,
)
from kgraph.losses.regression_losses import log_cosh, mean_squared_logarithmic_error, poisson
from kgraph.metrics.reduction_metrics import _BuiltinMeanMetric


def cosine_similarity(y_true, y_pred, axis: int = -1):
    """sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): 1 for aligned vectors, 0 for orthogonal ones."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(ops.cast(y_true, y_pred.dtype), y_pred)
    return ops.sum(ops.multiply(_l2_normalize(y_true, axis), _l2_normalize(y_pred, axis)), axis=axis)


def _simple(class_name: str, fn, default_name: str, doc: str):
    """A metric class with only `name` and `dtype`, averaging `fn`."""
    def __init__(self, name: str = default_name, dtype=None):
        _BuiltinMeanMetric.__init__(self, fn, name=name, dtype=dtype)

    return type(class_name, (_BuiltinMeanMetric,), {
        "__init__": __init__, "__module__": __name__,
        "__doc__": f"{doc}\n\n    Args:\n        name: defaults to \"{default_name}\".\n"
                   "        dtype: the dtype of the state and result.\n"})


KLDivergence = _simple("KLDivergence", kl_divergence, "kl_divergence", "The running mean of the KL divergence.")
Poisson = _simple("Poisson", poisson, "poisson", "The running mean of the Poisson loss.")
Hinge = _simple("Hinge", hinge, "hinge", "The running mean of the hinge loss.")
SquaredHinge = _simple("SquaredHinge", squared_hinge, "squared_hinge", "The running mean of the squared hinge loss.")
CategoricalHinge = _simple("CategoricalHinge", categorical_hinge, "categorical_hinge",
                           "The running mean of the categorical hinge loss.")
LogCoshError = _simple("LogCoshError", log_cosh, "logcosh", "The running mean of log(cosh(error)).")
MeanSquaredLogarithmicError = _simple("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                      "mean_squared_logarithmic_error",
                                      "The running mean of the squared logarithmic error.")


class BinaryCrossentropy(_BuiltinMeanMetric):
    """The running mean of the binary cross-entropy.

    Args:
        name: defaults to "binary_crossentropy".
        dtype: the dtype of the state and result.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: in [0, 1]; squeezes the labels towards 0.5.
    """

    def __init__(self, name: str = "binary_crossentropy", dtype=None, from_logits: bool = False,
                 label_smoothing: float = 0):
        super().__init__(binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(_BuiltinMeanMetric):
    """The running mean of the categorical cross-entropy.

    Args:
        name: defaults to "categorical_crossentropy".
        dtype: the dtype of the state and result.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: in [0, 1].
        axis: the class axis.
    """

    def __init__(self, name: str = "categorical_crossentropy", dtype=None, from_logits: bool = False,
                 label_smoothing: float = 0, axis: int = -1):
        super().__init__(categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_BuiltinMeanMetric):
    """The running mean of the sparse categorical cross-entropy.

    Args:
        name: defaults to "sparse_categorical_crossentropy".
        dtype: the dtype of the state and result.
        from_logits: whether `y_pred` holds logits.
        ignore_class: a label whose entries get a loss of 0.
        axis: the class axis.
    """

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype=None, from_logits: bool = False,
                 ignore_class: int | None = None, axis: int = -1):
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)


class CosineSimilarity(_BuiltinMeanMetric):
    """The running mean of the cosine similarity between labels and predictions.

    Args:
        name: defaults to "cosine_similarity".
        dtype: the dtype of the state and result.
        axis: the axis along which the similarity is computed.
    """

    def __init__(self, name: str = "cosine_similarity", dtype=None, axis: int = -1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
