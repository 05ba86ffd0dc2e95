"""Masking: marks the timesteps whose features all equal `mask_value` as padding."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.layer import Layer


class Masking(Layer):
    """Masks timesteps (axis 1 for `(batch, steps, features)`) whose features all equal `mask_value`, and zeroes them.

    Args:
        mask_value: the value that marks padding.
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.built = True

    def _keep(self, inputs, keepdims: bool):
        """True where any feature differs from `mask_value`."""
        return ops.greater(ops.sum(ops.not_equal(inputs, self.mask_value), axis=-1, keepdims=keepdims), 0)

    def call(self, inputs):
        return ops.where(self._keep(inputs, keepdims=True), inputs, 0)

    def compute_mask(self, inputs, mask=None):
        return self._keep(inputs, keepdims=False)

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}
