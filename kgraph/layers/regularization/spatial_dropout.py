"""SpatialDropout1D/2D/3D: dropout of whole feature maps, for inputs whose neighbouring entries correlate."""

from __future__ import annotations

from kgraph import config
from kgraph import random as kg_random
from kgraph.layers.layer import Layer
from kgraph.ops.nn import dropout_with_key
from kgraph.tracing import current_trace


class _SpatialDropout(Layer):
    """Drops a `rate` fraction of the channels of each sample, at all positions at once, while training."""

    rank: int
    supports_masking = True

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                             f"Received: rate={rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self._seed_offset = kg_random.next_seed() if seed is None else int(seed)
        self._channels_first = False

    def build(self, input_shape):
        if len(input_shape) != self.rank:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) expects inputs of rank {self.rank}, "
                             f"got input shape {tuple(input_shape)}")
        self.built = True

    def _noise_shape(self) -> tuple:
        """The mask's shape: one draw per (sample, channel); None dims follow the input."""
        spatial = (1,) * (self.rank - 2)
        return (None, None) + spatial if self._channels_first else (None,) + spatial + (None,)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        trace = current_trace()
        key = trace.rng() if trace is not None else kg_random.key()
        return dropout_with_key(inputs, self.rate, self._seed_offset, key, self._noise_shape())

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class _SpatialDropoutWithFormat(_SpatialDropout):
    """Spatial dropout of image-like inputs whose channel axis is last or first, per `data_format`."""

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None, **kwargs):
        super().__init__(rate, seed, **kwargs)
        data_format = data_format or config.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{type(self).__name__}: `data_format` must be 'channels_last' or 'channels_first'. "
                             f"Received: data_format={data_format!r}")
        self.data_format = data_format
        self._channels_first = data_format == "channels_first"

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole channels of (batch, steps, channels) inputs while training.

    Args:
        rate: float in [0, 1), the fraction of channels to drop.
        seed: an int making this layer's masks reproducible.
    """

    rank = 3


class SpatialDropout2D(_SpatialDropoutWithFormat):
    """Dropout of whole feature maps of 4-D image inputs while training.

    Args:
        rate: float in [0, 1), the fraction of channels to drop.
        data_format: "channels_last" (batch, height, width, channels) or "channels_first"
            (default `kgraph.config.image_data_format()`).
        seed: an int making this layer's masks reproducible.
    """

    rank = 4


class SpatialDropout3D(_SpatialDropoutWithFormat):
    """Dropout of whole feature volumes of 5-D inputs while training.

    Args:
        rate: float in [0, 1), the fraction of channels to drop.
        data_format: "channels_last" (batch, d1, d2, d3, channels) or "channels_first"
            (default `kgraph.config.image_data_format()`).
        seed: an int making this layer's masks reproducible.
    """

    rank = 5
