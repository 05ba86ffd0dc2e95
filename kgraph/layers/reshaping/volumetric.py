"""Cropping3D, UpSampling3D and ZeroPadding3D: the reshaping layers of volumes (batch, d1, d2, d3, channels)."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.layer import Layer
from kgraph.layers.reshaping.margins import margins_1d, positive_sizes, resolve_data_format


def margins_3d(value, name: str, layer: str) -> tuple[tuple[int, int], ...]:
    """An int, three symmetric ints, or three (before, after) pairs, as three pairs."""
    if isinstance(value, int):
        return (margins_1d(value, name, layer),) * 3
    if not hasattr(value, "__len__") or len(value) != 3:
        raise ValueError(f"{layer}: `{name}` must be an int, 3 ints or 3 pairs of ints, got {name}={value!r}")
    return tuple(margins_1d(v, f"{name}[{i}]", layer) for i, v in enumerate(value))


class _Volumetric(Layer):
    """A layer on rank-5 inputs whose spatial axes follow the batch (channels last) or the channels axis."""

    def _spatial_axes(self) -> tuple[int, int, int]:
        return (1, 2, 3) if self.data_format == "channels_last" else (2, 3, 4)

    def build(self, input_shape) -> None:
        if len(input_shape) != 5:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) needs inputs of rank 5, got input shape "
                             f"{tuple(input_shape)}")
        self.built = True


class Cropping3D(_Volumetric):
    """Crops volumes along their three spatial axes.

    Args:
        cropping: an int, 3 symmetric ints, or 3 (start, end) pairs.
        data_format: "channels_last" or "channels_first" (default `kgraph.config.image_data_format()`).
    """

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = margins_3d(cropping, "cropping", "Cropping3D")
        self.data_format = resolve_data_format(data_format, "Cropping3D")

    def build(self, input_shape) -> None:
        super().build(input_shape)
        for axis, (before, after) in zip(self._spatial_axes(), self.cropping):
            if input_shape[axis] is not None and before + after >= input_shape[axis]:
                raise ValueError(f"Layer {self.name!r} (Cropping3D) with cropping={self.cropping} would crop axis "
                                 f"{axis} of input shape {tuple(input_shape)} to nothing")

    def call(self, inputs):
        index = [slice(None)] * 5
        for axis, (before, after) in zip(self._spatial_axes(), self.cropping):
            index[axis] = slice(before, -after if after else None)
        return inputs[tuple(index)]

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


class UpSampling3D(_Volumetric):
    """Repeats each voxel `size` times along each spatial axis.

    Args:
        size: an int or 3 positive factors.
        data_format: "channels_last" or "channels_first" (default `kgraph.config.image_data_format()`).
    """

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.size = positive_sizes(size, 3, "size", "UpSampling3D")
        self.data_format = resolve_data_format(data_format, "UpSampling3D")

    def call(self, inputs):
        for axis, factor in zip(self._spatial_axes(), self.size):
            inputs = ops.repeat(inputs, factor, axis=axis)
        return inputs

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


class ZeroPadding3D(_Volumetric):
    """Pads volumes with zeros along their three spatial axes.

    Args:
        padding: an int, 3 symmetric ints, or 3 (start, end) pairs.
        data_format: "channels_last" or "channels_first" (default `kgraph.config.image_data_format()`).
    """

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = margins_3d(padding, "padding", "ZeroPadding3D")
        self.data_format = resolve_data_format(data_format, "ZeroPadding3D")

    def call(self, inputs):
        if self.data_format == "channels_last":
            return ops.pad(inputs, ((0, 0), *self.padding, (0, 0)))
        return ops.pad(inputs, ((0, 0), (0, 0), *self.padding))

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}
