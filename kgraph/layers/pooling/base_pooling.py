"""The base of the windowed pooling layers: argument checks, the op call, the config."""

from __future__ import annotations

from typing import Callable

from kgraph.layers.layer import Layer
from kgraph.ops.convolution import conv_output_shape, normalize_data_format, normalize_padding, normalize_tuple


class BasePooling(Layer):
    """Pools `pool_size` windows moved by `strides`; a subclass sets `rank` and `pool` (an op of kgraph.ops).

    Args:
        pool_size: int or tuple of `rank` ints, the window's size.
        strides: int or tuple of `rank` ints, or None for `pool_size`.
        padding: "valid" or "same" (output size ceil(input / stride); the padding never enters a result).
        data_format: "channels_last" or "channels_first"; default `kgraph.config.image_data_format()`.
    """

    rank: int
    pool: Callable

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        try:
            self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size")
            self.strides = self.pool_size if strides is None else normalize_tuple(strides, self.rank, "strides")
            self.padding = normalize_padding(padding)
            self.data_format = normalize_data_format(data_format)
        except ValueError as e:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}): {e}") from None

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        self.built = True

    def call(self, inputs):
        return self.pool(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        where = f"Layer {self.name!r} ({type(self).__name__})"
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{where} expects inputs of rank {self.rank + 2} (batch, {self.rank} spatial dims, "
                             f"channels), got input shape {input_shape}")
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        try:
            return conv_output_shape(input_shape, channels, self.pool_size, self.strides, self.padding,
                                     (1,) * self.rank, self.data_format)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}
