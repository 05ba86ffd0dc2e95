"""ReLU: the rectified linear unit as a layer, with Keras' cap, slope and threshold."""

from __future__ import annotations

from kgraph import activations
from kgraph.layers.layer import Layer


class ReLU(Layer):
    """`x` above `threshold` (capped at `max_value`), `negative_slope * (x - threshold)` below it.

    Args:
        max_value: a float >= 0 capping the output, or None for no cap.
        negative_slope: a float >= 0, the slope below the threshold.
        threshold: a float >= 0, the value below which the output is (scaled) negative.
    """

    supports_masking = True

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0.0:
            raise ValueError(f"max_value of a ReLU layer cannot be a negative value. Received: max_value={max_value}")
        if negative_slope is None or negative_slope < 0.0:
            raise ValueError("negative_slope of a ReLU layer cannot be None or a negative value. "
                             f"Received: negative_slope={negative_slope}")
        if threshold is None or threshold < 0.0:
            raise ValueError("threshold of a ReLU layer cannot be None or a negative value. "
                             f"Received: threshold={threshold}")
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold
        self.built = True

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}
