"""Rescaling: `inputs * scale + offset`, e.g. pixel values from [0, 255] to [0, 1]."""

from __future__ import annotations

import numpy as np

from kgraph import ops
from kgraph.layers.layer import Layer


class Rescaling(Layer):
    """Multiplies inputs by `scale` and adds `offset`, in the layer's dtype.

    Args:
        scale: a float, or per-channel values broadcast against the input's last axes.
        offset: a float, or per-channel values.
    """

    supports_masking = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self.built = True

    def call(self, inputs):
        dtype = self.compute_dtype
        x = ops.cast(inputs, dtype)
        return ops.add(ops.multiply(x, np.asarray(self.scale, dtype)), np.asarray(self.offset, dtype))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
