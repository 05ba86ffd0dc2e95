"""ZeroPadding1D and ZeroPadding2D: add zeros at the edges of sequences and images."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.layer import Layer
from kgraph.layers.reshaping.margins import margins_1d, margins_2d, resolve_data_format


def _check_rank(layer: Layer, input_shape, rank: int) -> None:
    if len(input_shape) != rank:
        raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}) needs inputs of rank {rank}, "
                         f"got input shape {tuple(input_shape)}")


def _pad(layer: Layer, inputs, spatial: tuple[tuple[int, int], ...]):
    """Zero-pads the spatial axes, which follow the batch axis (channels last) or the channels axis."""
    if layer.data_format == "channels_last":
        return ops.pad(inputs, ((0, 0), *spatial, (0, 0)))
    return ops.pad(inputs, ((0, 0), (0, 0), *spatial))


class ZeroPadding1D(Layer):
    """Pads `(batch, steps, features)` with zeros along the steps axis.

    Args:
        padding: an int or a (start, end) pair: how many zero steps to add at each end.
        data_format: "channels_last" (batch, steps, features) or "channels_first" (batch, features, steps).
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = margins_1d(padding, "padding", "ZeroPadding1D")
        self.data_format = resolve_data_format(data_format, "ZeroPadding1D")

    def build(self, input_shape) -> None:
        _check_rank(self, input_shape, 3)
        self.built = True

    def call(self, inputs):
        return _pad(self, inputs, (self.padding,))

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class ZeroPadding2D(Layer):
    """Pads images with zeros along height and width.

    Args:
        padding: an int, a (height, width) pair of symmetric pads, or ((top, bottom), (left, right)).
        data_format: "channels_last" (batch, height, width, channels) or "channels_first"
            (default `kgraph.config.image_data_format()`).
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = margins_2d(padding, "padding", "ZeroPadding2D")
        self.data_format = resolve_data_format(data_format, "ZeroPadding2D")

    def build(self, input_shape) -> None:
        _check_rank(self, input_shape, 4)
        self.built = True

    def call(self, inputs):
        return _pad(self, inputs, self.padding)

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}
