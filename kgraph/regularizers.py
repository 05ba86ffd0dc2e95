"""Weight and activity regularizers (L1, L2, L1L2, orthogonality) as in Keras, written with `kgraph.ops`."""

from __future__ import annotations

import numpy as np

from kgraph import config, ops
from kgraph.identifiers import Identifiers


class Regularizer:
    """Callable `x -> scalar penalty` added to the training loss."""

    def __call__(self, x):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Regularizer":
        return cls(**config)


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        for name, value in (("l1", l1), ("l2", l2)):
            if value is None or value < 0:
                raise ValueError(f"{type(self).__name__}: `{name}` must be a non-negative float, got {value!r}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        penalty = 0.0
        if self.l1:
            penalty = ops.multiply(self.l1, ops.sum(ops.abs(x)))
        if self.l2:
            penalty = ops.add(penalty, ops.multiply(self.l2, ops.sum(ops.square(x))))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalizes non-orthogonal rows (or columns) of a rank-2 weight: `factor` times the mean absolute cosine
    similarity between distinct pairs.

    Args:
        factor: the penalty's weight.
        mode: "rows" or "columns": which vectors should be orthogonal.
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        if mode not in ("rows", "columns"):
            raise ValueError(f'Invalid value for argument `mode`. Expected one of {{"rows", "columns"}}. Received: mode={mode}')
        if not isinstance(factor, (int, float)) or isinstance(factor, bool) or factor < 0:
            raise ValueError(f"Invalid value for argument `factor`: expected a float >= 0. Received: factor={factor!r}")
        self.factor, self.mode = float(factor), mode

    def __call__(self, x):
        if ops.ndim(x) != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={ops.shape(x)}")
        axis = 1 if self.mode == "rows" else 0
        x = ops.divide(x, ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True), config.epsilon())))
        product = ops.matmul(x, ops.transpose(x)) if self.mode == "rows" else ops.matmul(ops.transpose(x), x)
        size = ops.shape(x)[1 - axis]
        off_diagonal = ops.multiply(product, (1.0 - np.eye(size)).astype(np.float32))
        return ops.multiply(self.factor * 0.5 / (size * (size - 1.0) / 2.0), ops.sum(ops.abs(off_diagonal)))

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer

_IDENTIFIERS = Identifiers("regularizer", "keras.regularizers", Regularizer,
                           classes={c.__name__: c for c in (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)},
                           functions={}, instance_names={"l1": L1, "l2": L2, "l1_l2": L1L2,
                                                         "orthogonal_regularizer": OrthogonalRegularizer})


def get(identifier):
    """A regularizer from None, an instance or callable (returned as is), a name ("l2", "L1L2") or a config."""
    if identifier is None or isinstance(identifier, Regularizer) or callable(identifier):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")


def deserialize(config, custom_objects: dict | None = None) -> Regularizer:
    """The regularizer `serialize` (or `keras.regularizers.serialize`) described."""
    return _IDENTIFIERS.deserialize(config, custom_objects)


def serialize(regularizer) -> dict | None:
    """A Keras-format config of `regularizer` (None stays None)."""
    return None if regularizer is None else _IDENTIFIERS.serialize(regularizer)
