"""Image preprocessing layers: Resizing and CenterCrop."""

from __future__ import annotations

from kgraph import config, ops
from kgraph.ir.ops.image import INTERPOLATIONS
from kgraph.layers.layer import Layer


def _check_rank(layer: Layer, input_shape) -> None:
    if len(input_shape) not in (3, 4):
        raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}) needs images of rank 3 or 4, got input "
                         f"shape {tuple(input_shape)}")


def _image_size(layer: Layer, data_format: str, input_shape) -> tuple[int, int]:
    _check_rank(layer, input_shape)
    axes = (-3, -2) if data_format == "channels_last" else (-2, -1)
    height, width = (input_shape[a] for a in axes)
    if height is None or width is None:
        raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}) needs a known image height and width, got "
                         f"input shape {tuple(input_shape)}")
    return height, width


def _check_size(layer: Layer, height, width) -> None:
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}): `{name}` must be a positive int, got "
                             f"{value!r}")


class Resizing(Layer):
    """Resizes images to (height, width) with half-pixel centers, as Keras' JAX backend does.

    Integer images come back rounded and saturated to their own dtype.

    Args:
        height, width: the output size.
        interpolation: "bilinear" or "nearest".
        crop_to_aspect_ratio: first center-crop the largest window with the output's aspect ratio.
        data_format: "channels_last" or "channels_first" (default `kgraph.config.image_data_format()`).
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear", crop_to_aspect_ratio: bool = False,
                 data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        _check_size(self, height, width)
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"Layer {self.name!r} (Resizing): `interpolation` must be one of {INTERPOLATIONS}, got "
                             f"{interpolation!r}")
        self.height, self.width = height, width
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.data_format = data_format or config.image_data_format()
        self.built = True

    def call(self, inputs):
        if self.crop_to_aspect_ratio:
            _image_size(self, self.data_format, inputs.shape)
        else:
            _check_rank(self, inputs.shape)
        return ops.image.resize(inputs, (self.height, self.width), interpolation=self.interpolation,
                                crop_to_aspect_ratio=self.crop_to_aspect_ratio, data_format=self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "data_format": self.data_format}


class CenterCrop(Layer):
    """Crops the central (height, width) window; an image smaller than that is center-cropped to the target's
    aspect ratio and resized up (bilinear), as Keras does. Outputs are in the layer's dtype.

    Args:
        height, width: the output size.
        data_format: "channels_last" or "channels_first" (default `kgraph.config.image_data_format()`).
    """

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        _check_size(self, height, width)
        self.height, self.width = height, width
        self.data_format = data_format or config.image_data_format()
        self.built = True

    def call(self, inputs):
        height, width = _image_size(self, self.data_format, inputs.shape)
        x = ops.cast(inputs, self.compute_dtype)
        if height >= self.height and width >= self.width:
            return ops.image.crop_images(x, (height - self.height) // 2, (width - self.width) // 2,
                                         target_height=self.height, target_width=self.width,
                                         data_format=self.data_format)
        return ops.image.resize(x, (self.height, self.width), crop_to_aspect_ratio=True, data_format=self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width, "data_format": self.data_format}
