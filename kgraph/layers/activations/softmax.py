"""Softmax: the softmax activation as a layer, with an optional mask of positions to leave out."""

from __future__ import annotations

from kgraph import activations, ops
from kgraph.layers.layer import Layer


class Softmax(Layer):
    """Softmax along `axis`. Called with `mask`, masked-out positions (False or <= 0.5) get probability 0 and the
    rest share all of it; a fully masked slice gives zeros.

    Args:
        axis: an int or a list of ints, the axes the probabilities sum to 1 over.
    """

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.built = True

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = self._checked_mask(inputs, mask)
            inputs = ops.where(mask, inputs, -3e4 if inputs.dtype == "float16" else -1e9)
        outputs = activations.softmax(inputs, axis=self.axis)
        if mask is not None:
            outputs = ops.where(mask, outputs, 0.0)
        return outputs

    def _checked_mask(self, inputs, mask):
        """The mask as bool, after checking it broadcasts to the inputs without adding dims."""
        mask_shape, shape = tuple(mask.shape), tuple(inputs.shape)
        if len(mask_shape) > len(shape) or any(
                m is not None and i is not None and m not in (1, i) for m, i in zip(mask_shape[::-1], shape[::-1])):
            raise ValueError(f"Layer {self.name!r} (Softmax): the mask must broadcast to the inputs without adding "
                             f"dims; got inputs of shape {shape} and a mask of shape {mask_shape}")
        if str(mask.dtype) == "bool":
            return mask
        return ops.greater(mask, ops.cast(0.5, mask.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}
