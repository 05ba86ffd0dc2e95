"""ContrastLimitedAdaptiveHistogramEqualization (CLAHE): histogram equalization per tile, with the histograms
clipped and the tiles' mappings blended bilinearly, in training and inference alike (as in Keras)."""

from __future__ import annotations

import numpy as np

from kgraph import ops
from kgraph.layers.preprocessing.transforms import ImageTransformLayer, transform_value_range

_BINS = 256


def _symmetric_indices(size: int, pad: int) -> np.ndarray:
    """The source index of each of `size + pad` positions when an axis is padded after its end by NumPy's
    "symmetric" mode (the edge repeated, then the axis reflected, as often as needed)."""
    period = np.arange(size + pad) % (2 * size)
    return np.where(period < size, period, 2 * size - 1 - period).astype("int32")


def _corners(size: int, tiles: int, tile: int):
    """Per pixel of a padded axis: the two neighbouring tile centres (in the edge-padded grid of tiles + 2) and
    the weight of the second, as Keras computes them in float32."""
    grid = (np.arange(size, dtype="float32") - np.float32(tile / 2.0)) / np.float32(tile) + np.float32(1.0)
    lower = np.floor(grid)
    weight = grid - lower
    lower, upper = (np.clip(v, 0, tiles + 1).astype("int32") for v in (lower, lower + np.float32(1.0)))
    return lower, upper, weight


class ContrastLimitedAdaptiveHistogramEqualization(ImageTransformLayer):
    """Equalizes each channel's histogram per tile of a `tile_grid_size` grid (on the 0-255 scale of
    `value_range`, 256 bins), clipping each bin at `clip_limit` times the mean count and spreading the excess over
    all bins, then maps each pixel through the bilinear blend of its four nearest tiles' mappings. Images whose
    size is not a multiple of the grid are padded symmetrically for the histograms, as Keras pads them.

    The histograms are counted through one-hot encodings of the pixels, as in Keras: memory grows with
    256 times the image size.

    Args:
        value_range: the (min, max) of the pixel values.
        clip_limit: the bin limit, as a multiple of the mean bin count; 0 or less turns clipping off.
        tile_grid_size: the number of tiles, (rows, columns).
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise ValueError(f"ContrastLimitedAdaptiveHistogramEqualization: the `value_range` argument should be a "
                             f"list of two numbers. Received: value_range={value_range}")
        if isinstance(clip_limit, bool) or not isinstance(clip_limit, (int, float)):
            raise ValueError(f"ContrastLimitedAdaptiveHistogramEqualization: `clip_limit` should be a number. "
                             f"Received: clip_limit={clip_limit!r}")
        if not isinstance(tile_grid_size, (tuple, list)) or len(tile_grid_size) != 2 or any(
                isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for n in tile_grid_size):
            raise ValueError(f"ContrastLimitedAdaptiveHistogramEqualization: `tile_grid_size` should be two positive "
                             f"ints (rows, columns). Received: tile_grid_size={tile_grid_size}")
        self.value_range, self.clip_limit, self.tile_grid_size = value_range, clip_limit, tile_grid_size

    def _pad(self, images, height: int, width: int, padded_height: int, padded_width: int):
        if padded_height != height:
            images = ops.take(images, _symmetric_indices(height, padded_height - height), axis=1)
        if padded_width != width:
            images = ops.take(images, _symmetric_indices(width, padded_width - width), axis=2)
        return images

    def _mappings(self, images, tile_h: int, tile_w: int):
        """Each tile's clipped, normalized CDF, (batch, grid_h + 2, grid_w + 2, channels, 256), the grid padded
        by its edge tiles."""
        grid_h, grid_w = (int(n) for n in self.tile_grid_size)
        channels = images.shape[-1]
        tiles = ops.reshape(images, (-1, grid_h, tile_h, grid_w, tile_w, channels))
        tiles = ops.reshape(ops.transpose(tiles, (0, 1, 3, 5, 2, 4)), (-1, grid_h, grid_w, channels, tile_h * tile_w))
        values = ops.clip(ops.cast(tiles, "int32"), 0, _BINS - 1)
        hists = ops.sum(ops.one_hot(values, _BINS, dtype="float32"), axis=-2)
        if self.clip_limit > 0:
            clipped = ops.clip(hists, 0.0, float(np.float32(self.clip_limit * (tile_h * tile_w) / 256.0)))
            excess = ops.sum(ops.subtract(hists, clipped), axis=-1, keepdims=True)
            hists = ops.add(clipped, ops.divide(excess, 256.0))
        cdf = ops.cumsum(hists, axis=-1)
        cdf_min = ops.min(cdf, axis=-1, keepdims=True)
        denominator = ops.subtract(float(tile_h * tile_w), cdf_min)
        denominator = ops.where(ops.equal(denominator, 0.0), ops.ones_like(denominator), denominator)
        mapping = ops.clip(ops.divide(ops.multiply(ops.subtract(cdf, cdf_min), 255.0), denominator), 0.0, 255.0)
        mapping = ops.concatenate([mapping[:, :1], mapping, mapping[:, -1:]], axis=1)
        return ops.concatenate([mapping[:, :, :1], mapping, mapping[:, :, -1:]], axis=2)

    def _clahe(self, images):
        """CLAHE of a channels-last batch on the 0-255 scale."""
        _, height, width, channels = images.shape
        if height is None or width is None or channels is None:
            raise ValueError(f"ContrastLimitedAdaptiveHistogramEqualization needs images of known height, width "
                             f"and channels. Received: images.shape={tuple(images.shape)}")
        grid_h, grid_w = (int(n) for n in self.tile_grid_size)
        tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
        padded_height, padded_width = tile_h * grid_h, tile_w * grid_w
        padded = self._pad(images, height, width, padded_height, padded_width)
        mapping = ops.reshape(self._mappings(padded, tile_h, tile_w),
                              (-1, (grid_h + 2) * (grid_w + 2) * channels * _BINS))
        pixels = ops.cast(ops.clip(padded, 0, 255), "int32")
        stride_x = _BINS * channels
        stride_y = stride_x * (grid_w + 2)
        y0, y1, wy = _corners(padded_height, grid_h, tile_h)
        x0, x1, wx = _corners(padded_width, grid_w, tile_w)
        base = ops.add(pixels, (np.arange(channels, dtype="int32") * _BINS).reshape(1, 1, 1, channels))

        def lookup(rows, cols):
            offset = (rows[:, None, None] * stride_y + cols[None, :, None] * stride_x).astype("int32")
            index = ops.reshape(ops.add(base, offset[None]), (-1, padded_height * padded_width * channels))
            values = ops.take_along_axis(mapping, index, axis=1)
            return ops.reshape(values, (-1, padded_height, padded_width, channels))

        wy, wx = wy[None, :, None, None], wx[None, None, :, None]
        top = ops.add(ops.multiply(lookup(y0, x0), 1.0 - wx), ops.multiply(lookup(y0, x1), wx))
        bottom = ops.add(ops.multiply(lookup(y1, x0), 1.0 - wx), ops.multiply(lookup(y1, x1), wx))
        result = ops.add(ops.multiply(top, 1.0 - wy), ops.multiply(bottom, wy))
        return result[:, :height, :width, :]

    def transform_images(self, images, transformation=None, training=True):
        channels_first = self.data_format == "channels_first"
        if channels_first:
            images = ops.transpose(images, (0, 2, 3, 1))
        dtype = images.dtype
        images = transform_value_range(images, self.value_range, (0, 255), dtype="float32")
        images = transform_value_range(self._clahe(images), (0, 255), self.value_range, dtype="float32")
        images = ops.cast(images, dtype)
        return ops.transpose(images, (0, 3, 1, 2)) if channels_first else images

    def get_config(self) -> dict:
        return {**super().get_config(), "value_range": self.value_range, "clip_limit": self.clip_limit,
                "tile_grid_size": self.tile_grid_size, "data_format": self.data_format}
