"""Reshape: gives each sample a new shape with the same number of elements."""

from __future__ import annotations

import math

from kgraph import ops
from kgraph.layers.layer import Layer


class Reshape(Layer):
    """Reshapes `(batch, …)` to `(batch, *target_shape)`; one entry of `target_shape` may be -1 (inferred).

    Args:
        target_shape: the new shape of one sample, without the batch dim.
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target_shape = tuple(target_shape)
        if (any(not isinstance(d, int) or isinstance(d, bool) or d < -1 or d == 0 for d in target_shape)
                or target_shape.count(-1) > 1):
            raise ValueError(f"Reshape: `target_shape` must be positive ints with at most one -1, "
                             f"got target_shape={target_shape}")
        self.target_shape = target_shape

    def build(self, input_shape) -> None:
        self._resolved(tuple(input_shape))
        self.built = True

    def _resolved(self, input_shape: tuple) -> tuple:
        """`target_shape` with its -1 filled in when the sample size is known; raises if the sizes cannot match."""
        sample = input_shape[1:]
        if any(d is None for d in sample):
            return self.target_shape
        size, known = math.prod(sample), math.prod(d for d in self.target_shape if d != -1)
        mismatch = size % known != 0 if -1 in self.target_shape else size != known
        if mismatch:
            raise ValueError(f"Layer {self.name!r} (Reshape) cannot reshape samples of shape {sample} ({size} "
                             f"elements) into target_shape {self.target_shape}")
        return tuple(size // known if d == -1 else d for d in self.target_shape)

    def call(self, inputs):
        return ops.reshape(inputs, (None,) + self._resolved(tuple(inputs.shape)))

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": self.target_shape}
