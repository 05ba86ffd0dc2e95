"""Filtering augmentations: RandomSharpness, RandomGaussianBlur and RandomPosterization, random in training only."""

from __future__ import annotations

import numpy as np

from kgraph import ops
from kgraph.layers.preprocessing.augmentation import bounded_pair
from kgraph.layers.preprocessing.transforms import ImageTransformLayer, transform_value_range, value_range_pair


def _depthwise(images, kernel, data_format: str):
    """`kernel` (kh, kw) applied to each channel with "same" padding."""
    axis = -1 if data_format == "channels_last" else 1
    channels = images.shape[axis]
    kernel = ops.tile(ops.reshape(kernel, (*kernel.shape, 1, 1)), (1, 1, channels, 1))
    return ops.depthwise_conv(images, ops.cast(kernel, images.dtype), strides=1, padding="same",
                              data_format=data_format)


class RandomSharpness(ImageTransformLayer):
    """Blends each image away from (sharpening) or toward (blurring) a 3x3 smoothed copy by a random amount while
    training, then clips to `value_range`.

    Args:
        factor: f in [0, 1] gives draws in [0, f]; a pair (lo, hi) in [lo, hi]; 0.5 keeps the image.
        value_range: the (min, max) of the pixel values.
        data_format: "channels_last" or "channels_first".
        seed: an int making the draws reproducible.
    """

    _KERNEL = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], "float32") / 13.0

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = bounded_pair(factor, "factor", (0, 1))
        self.value_range = value_range_pair(value_range, "RandomSharpness")

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        return {"factor": self._uniform_rows(images, self.factor[0], self.factor[1], 0)}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if not training:
            return images
        sharpness = ops.reshape(ops.cast(ops.multiply(transformation["factor"], 2.0), images.dtype), (-1, 1, 1, 1))
        smoothed = _depthwise(images, self._KERNEL, self.data_format)
        images = ops.add(images, ops.multiply(ops.subtract(1.0, sharpness), ops.subtract(smoothed, images)))
        return ops.clip(images, self.value_range[0], self.value_range[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


def _kernel_size(kernel_size) -> tuple:
    """Keras' `_set_kernel_size`: odd sizes, an int for both axes or a (first, second) pair."""
    if isinstance(kernel_size, (tuple, list)):
        if len(kernel_size) != 2:
            raise ValueError(f"The `kernel_size` argument should be a number (or a list of two numbers) Received: "
                             f"kernel_size={kernel_size}")
        sizes = tuple(kernel_size)
    elif isinstance(kernel_size, (int, float)) and not isinstance(kernel_size, bool):
        sizes = (kernel_size, kernel_size)
    else:
        raise ValueError(f"kernel_size must be an odd number. Received: kernel_size={kernel_size}")
    if any(s % 2 == 0 for s in sizes):
        raise ValueError(f"kernel_size must be an odd number. Received: kernel_size={kernel_size}")
    return sizes


def _gaussian_1d(size: int, sigma):
    x = np.arange(size, dtype="float32") - np.float32((size - 1) / 2)
    kernel = ops.exp(ops.multiply(-0.5, ops.square(ops.divide(x, sigma))))
    return ops.divide(kernel, ops.sum(kernel))


class RandomGaussianBlur(ImageTransformLayer):
    """Blurs each image, with a probability drawn in `factor`, by a Gaussian kernel whose two sigmas are drawn in
    `sigma` once per batch, then clips to `value_range`.

    Args:
        factor: the blur probability: f in [0, 1] gives draws in [0, f]; a pair (lo, hi) in [lo, hi].
        kernel_size: an odd int, or a pair of odd ints (the kernel's width and height, as Keras reads them).
        sigma: f gives sigmas in [0, f]; a pair (lo, hi) in [lo, hi].
        value_range: the (min, max) of the pixel values.
        data_format: "channels_last" or "channels_first".
        seed: an int making the draws reproducible.
    """

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255), data_format=None, seed=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = bounded_pair(factor, "factor", (0, 1))
        self.kernel_size = _kernel_size(kernel_size)
        self.sigma = bounded_pair(sigma, "sigma", (0, 1))
        self.value_range = value_range

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        probability = self._uniform_rows(images, self.factor[0], self.factor[1], 0)
        threshold = self._uniform_rows(images, 0.0, 1.0, 1)
        sigmas = ops.take(self._uniform_rows(images, self.sigma[0], self.sigma[1], 2, shape=(2,)), 0, axis=0)
        return {"should_apply_blur": ops.less(threshold, probability), "blur_factor": ops.add(sigmas, 1e-6)}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if not training or transformation is None:
            return images
        sigma = ops.cast(transformation["blur_factor"], "float32")
        kernel = ops.outer(_gaussian_1d(int(self.kernel_size[1]), ops.take(sigma, 1)),
                           _gaussian_1d(int(self.kernel_size[0]), ops.take(sigma, 0)))
        blurred = _depthwise(images, kernel, self.data_format)
        apply_blur = ops.reshape(transformation["should_apply_blur"], (-1, 1, 1, 1))
        images = ops.clip(ops.where(apply_blur, blurred, images), self.value_range[0], self.value_range[1])
        return ops.cast(images, self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor,
                "kernel_size": self.kernel_size, "sigma": self.sigma, "value_range": self.value_range,
                "seed": self.seed}


class RandomPosterization(ImageTransformLayer):
    """Keeps only the top `bits` bits of each 8-bit value (on the 0-255 scale of `value_range`), `bits` drawn per
    image in [lo, hi) (the upper end excluded, as Keras draws), while training.

    Args:
        factor: bits to keep, in [1, 8]: f gives [1, f), a pair (lo, hi) gives [lo, hi); equal ends fix it.
        value_range: the (min, max) of the pixel values.
        data_format: "channels_last" or "channels_first".
        seed: an int making the draws reproducible.
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = bounded_pair(factor, "factor", (1, 8))
        self.value_range = value_range_pair(value_range, "RandomPosterization")

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        low, high = (int(v) for v in self.factor)
        if low != high:
            bits = ops.floor(self._uniform_rows(images, low, high, 0))
        else:
            bits = ops.add(ops.zeros_like(self._uniform_rows(images, 0.0, 1.0, 0)), float(low))
        return {"shift_factor": ops.cast(ops.subtract(8.0, bits), "uint8")}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if not training:
            return images
        step = ops.power(2.0, ops.reshape(ops.cast(transformation["shift_factor"], "float32"), (-1, 1, 1, 1)))
        levels = ops.floor(transform_value_range(images, self.value_range, (0, 255), dtype=self.compute_dtype))
        levels = ops.clip(levels, 0.0, 255.0)
        images = ops.cast(ops.multiply(ops.floor(ops.divide(levels, step)), step), self.compute_dtype)
        return transform_value_range(images, (0, 255), self.value_range, dtype=self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}
