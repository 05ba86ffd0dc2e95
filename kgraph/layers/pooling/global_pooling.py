"""Global pooling layers: the max or mean over all spatial dims, one value per channel (per batch element)."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.layer import Layer
from kgraph.ops.convolution import normalize_data_format


class BaseGlobalPooling(Layer):
    """Reduces every spatial dim; a subclass sets `rank` and `reduce` (ops.max or ops.mean).

    Args:
        data_format: "channels_last" or "channels_first"; default `kgraph.config.image_data_format()`.
        keepdims: keep the spatial dims with size 1 instead of dropping them.
    """

    rank: int

    def __init__(self, data_format=None, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        try:
            self.data_format = normalize_data_format(data_format)
        except ValueError as e:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}): {e}") from None
        self.keepdims = keepdims

    @property
    def spatial_axes(self) -> tuple[int, ...]:
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) expects inputs of rank {self.rank + 2} "
                             f"(batch, {self.rank} spatial dims, channels), got input shape {tuple(input_shape)}")
        self.built = True

    def call(self, inputs):
        return self.reduce(inputs, axis=self.spatial_axes, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        axes = self.spatial_axes
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling1D(BaseGlobalPooling):
    """The maximum over the steps of (batch, steps, channels)."""

    rank, reduce = 1, staticmethod(ops.max)


class GlobalMaxPooling2D(BaseGlobalPooling):
    """The maximum over height and width."""

    rank, reduce = 2, staticmethod(ops.max)


class GlobalMaxPooling3D(BaseGlobalPooling):
    """The maximum over depth, height and width."""

    rank, reduce = 3, staticmethod(ops.max)


class GlobalAveragePooling1D(BaseGlobalPooling):
    """The mean over the steps of (batch, steps, channels); with a mask, over the unmasked steps only."""

    rank, reduce = 1, staticmethod(ops.mean)
    supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        keep = ops.expand_dims(ops.cast(mask, "bool"), -1 if self.data_format == "channels_last" else 1)
        total = ops.sum(ops.where(keep, inputs, 0.0), axis=self.spatial_axes, keepdims=self.keepdims)
        return total / ops.sum(ops.cast(keep, inputs.dtype), axis=self.spatial_axes, keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalAveragePooling2D(BaseGlobalPooling):
    """The mean over height and width."""

    rank, reduce = 2, staticmethod(ops.mean)


class GlobalAveragePooling3D(BaseGlobalPooling):
    """The mean over depth, height and width."""

    rank, reduce = 3, staticmethod(ops.mean)
