"""UpSampling1D and UpSampling2D: enlarge sequences and images by whole factors."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.layer import Layer
from kgraph.layers.reshaping.margins import positive_sizes, resolve_data_format
from kgraph.ops.image import resize

INTERPOLATIONS = ("nearest", "bilinear")


class UpSampling1D(Layer):
    """Repeats each step of `(batch, steps, features)` `size` times.

    Args:
        size: positive int, the upsampling factor.
    """

    def __init__(self, size: int = 2, **kwargs):
        super().__init__(**kwargs)
        (self.size,) = positive_sizes(size, 1, "size", "UpSampling1D")

    def build(self, input_shape) -> None:
        if len(input_shape) != 3:
            raise ValueError(f"Layer {self.name!r} (UpSampling1D) needs inputs of rank 3, got input shape "
                             f"{tuple(input_shape)}")
        self.built = True

    def call(self, inputs):
        return ops.repeat(inputs, self.size, axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


class UpSampling2D(Layer):
    """Enlarges images by (height, width) factors: nearest repeats pixels, bilinear interpolates (half-pixel centers).

    Args:
        size: an int or a (height, width) pair of positive factors.
        data_format: "channels_last" (batch, height, width, channels) or "channels_first"
            (default `kgraph.config.image_data_format()`).
        interpolation: "nearest" or "bilinear" (which needs the height and width known).
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation: str = "nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = positive_sizes(size, 2, "size", "UpSampling2D")
        self.data_format = resolve_data_format(data_format, "UpSampling2D")
        self.interpolation = interpolation.lower()
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"UpSampling2D: `interpolation` must be one of {INTERPOLATIONS}, "
                             f"got interpolation={interpolation!r}")

    def _axes(self) -> tuple[int, int]:
        return (1, 2) if self.data_format == "channels_last" else (2, 3)

    def build(self, input_shape) -> None:
        where = f"Layer {self.name!r} (UpSampling2D)"
        if len(input_shape) != 4:
            raise ValueError(f"{where} needs inputs of rank 4, got input shape {tuple(input_shape)}")
        if self.interpolation == "bilinear" and any(input_shape[a] is None for a in self._axes()):
            raise ValueError(f"{where} with bilinear interpolation needs a known height and width, got input shape "
                             f"{tuple(input_shape)}")
        self.built = True

    def call(self, inputs):
        rows, cols = self._axes()
        if self.interpolation == "nearest":
            return ops.repeat(ops.repeat(inputs, self.size[0], axis=rows), self.size[1], axis=cols)
        shape = ops.shape(inputs)
        size = (shape[rows] * self.size[0], shape[cols] * self.size[1])
        return resize(inputs, size, interpolation="bilinear", data_format=self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}
