"""Equalization: histogram equalization of each channel, in training (inference leaves images as they are, as in
Keras)."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.preprocessing.transforms import ImageTransformLayer, value_range_pair


def _rescale(values, source, target):
    scale = (float(target[1]) - float(target[0])) / (float(source[1]) - float(source[0]))
    return ops.add(ops.multiply(values, scale), float(target[0]) - float(source[0]) * scale)


class Equalization(ImageTransformLayer):
    """Maps each channel through the normalized cumulative histogram of its values, counted over the whole batch
    (as Keras counts them), so that the values spread over the range; channels with one value are kept.

    Args:
        value_range: the (min, max) of the pixel values.
        bins: the number of histogram bins.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
            raise ValueError(f"Equalization: `bins` should be an int of at least 2. Received: bins={bins}")
        self.bins = bins
        self.value_range = value_range_pair(value_range, "Equalization")

    def _histogram(self, channel):
        scaled = ops.divide(ops.multiply(ops.cast(channel, "float32"), float(self.bins - 1)), 255.0)
        indices = ops.clip(ops.cast(scaled, "int32"), 0, self.bins - 1)
        return ops.bincount(ops.reshape(indices, (-1,)), minlength=self.bins)

    def _equalize(self, channel):
        channel = _rescale(channel, self.value_range, (0, 255))
        histogram = self._histogram(channel)
        cdf = ops.cumsum(histogram)
        cdf_min = ops.take(cdf, ops.argmax(ops.greater(cdf, 0)))
        denominator = ops.subtract(ops.take(cdf, self.bins - 1), cdf_min)
        denominator = ops.where(ops.equal(denominator, 0), ops.ones_like(denominator), denominator)
        lookup = ops.divide(ops.multiply(ops.subtract(cdf, cdf_min), 255), denominator)
        lookup = ops.clip(ops.round(lookup), 0, 255)
        indices = ops.cast(ops.clip(ops.multiply(ops.divide(channel, 255.0), float(self.bins - 1)), 0,
                                    self.bins - 1), "int32")
        equalized = ops.cast(ops.take(lookup, indices), channel.dtype)
        equalized = ops.where(ops.less_equal(ops.count_nonzero(histogram), 1), channel, equalized)
        return _rescale(equalized, (0, 255), self.value_range)

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if not training:
            return images
        axis = -1 if self.data_format == "channels_last" else -3
        channels = [self._equalize(ops.take(images, i, axis=axis)) for i in range(images.shape[axis])]
        return ops.cast(ops.stack(channels, axis=axis), self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "bins": self.bins,
                "value_range": self.value_range}
