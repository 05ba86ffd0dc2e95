"""LeakyReLU: x where x >= 0, a small slope times x elsewhere."""

from __future__ import annotations

import warnings

from kgraph import activations
from kgraph.layers.layer import Layer


class LeakyReLU(Layer):
    """Leaky rectified linear unit: `x` where `x >= 0`, else `negative_slope * x`.

    Args:
        negative_slope: a float >= 0, the slope for negative inputs (Keras 2's `alpha` is accepted, deprecated).
    """

    supports_masking = True

    def __init__(self, negative_slope: float = 0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2)
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or negative value. "
                             f"Expected a float. Received: negative_slope={negative_slope}")
        self.negative_slope = negative_slope
        self.built = True

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}
