"""Cropping1D and Cropping2D: remove rows and columns from the edges of sequences and images."""

from __future__ import annotations

from kgraph.layers.layer import Layer
from kgraph.layers.reshaping.margins import margins_1d, margins_2d, resolve_data_format


def _check(layer: Layer, input_shape: tuple, rank: int, axes: tuple[int, ...], crops: tuple) -> None:
    """Raises, naming the layer and shapes, unless the input has `rank` and each cropped axis keeps an element."""
    where = f"Layer {layer.name!r} ({type(layer).__name__}) with cropping={layer.cropping}"
    if len(input_shape) != rank:
        raise ValueError(f"{where} needs inputs of rank {rank}, got input shape {input_shape}")
    for axis, (before, after) in zip(axes, crops):
        if input_shape[axis] is not None and before + after >= input_shape[axis]:
            raise ValueError(f"{where} would crop axis {axis} of input shape {input_shape} to nothing")


def _window(before: int, after: int) -> slice:
    return slice(before, -after if after else None)


class Cropping1D(Layer):
    """Crops `(batch, steps, features)` along the steps axis.

    Args:
        cropping: an int or a (start, end) pair: how many steps to remove at each end.
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = margins_1d(cropping, "cropping", "Cropping1D")

    def build(self, input_shape) -> None:
        _check(self, tuple(input_shape), 3, (1,), (self.cropping,))
        self.built = True

    def call(self, inputs):
        return inputs[:, _window(*self.cropping), :]

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": self.cropping}


class Cropping2D(Layer):
    """Crops images along height and width.

    Args:
        cropping: an int, a (height, width) pair of symmetric crops, or ((top, bottom), (left, right)).
        data_format: "channels_last" (batch, height, width, channels) or "channels_first"
            (default `kgraph.config.image_data_format()`).
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = margins_2d(cropping, "cropping", "Cropping2D")
        self.data_format = resolve_data_format(data_format, "Cropping2D")

    def build(self, input_shape) -> None:
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        _check(self, tuple(input_shape), 4, axes, self.cropping)
        self.built = True

    def call(self, inputs):
        rows, cols = (_window(*c) for c in self.cropping)
        if self.data_format == "channels_last":
            return inputs[:, rows, cols, :]
        return inputs[:, :, rows, cols]

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}
