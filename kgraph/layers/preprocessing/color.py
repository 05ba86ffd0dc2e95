"""Color layers: AutoContrast (always applied), RandomGrayscale and RandomInvert (random, in training only)."""

from __future__ import annotations

import numpy as np

from kgraph import ops
from kgraph.layers.preprocessing.augmentation import RandomImageLayer, bounded_pair

_GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)


def _value_range(value_range, layer: str) -> list:
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"{layer}: `value_range` should be a list of two numbers. Received: "
                         f"value_range={value_range}")
    return value_range


class AutoContrast(RandomImageLayer):
    """Stretches each image's values per channel to the whole `value_range`, in training and inference alike.

    Args:
        value_range: the (min, max) of the pixel values.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, value_range=(0, 255), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = list(_value_range(value_range, "AutoContrast"))

    def call(self, inputs, training=True):
        images = ops.cast(inputs, self.compute_dtype)
        low, high = (float(v) for v in self.value_range)
        scaled = ops.multiply(ops.subtract(images, low), 255.0 / (high - low))
        rows, cols = (1, 2) if len(images.shape) == 4 else (0, 1)
        lowest = ops.min(scaled, axis=(rows, cols), keepdims=True)
        highest = ops.max(scaled, axis=(rows, cols), keepdims=True)
        scale = ops.divide(255.0, ops.subtract(highest, lowest))
        stretched = ops.clip(ops.add(ops.multiply(scaled, scale), ops.multiply(ops.negative(lowest), scale)),
                             0.0, 255.0)
        result = ops.add(ops.multiply(stretched, (high - low) / 255.0), low)
        return ops.where(ops.not_equal(result, result), images, result)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "value_range": self.value_range}


class RandomGrayscale(RandomImageLayer):
    """Turns each RGB image to grayscale (kept with 3 channels) with probability `factor` while training.

    Args:
        factor: the probability in [0, 1].
        data_format: "channels_last" or "channels_first".
        seed: an int making the draws reproducible.
    """

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        if factor < 0 or factor > 1:
            raise ValueError(f"`factor` should be between 0 and 1. Received: factor={factor}")
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor

    def _augment(self, images):
        channels = -1 if self.data_format == "channels_last" else 1
        if images.shape[channels] not in (1, 3):
            raise ValueError(f"Invalid channel size: expected 3 (RGB) or 1 (Grayscale). Received input with shape: "
                             f"images.shape={tuple(images.shape)}")
        if images.shape[channels] == 1:
            return images
        shape = (1, 1, 3) if channels == -1 else (3, 1, 1)
        weights = np.asarray(_GRAY_WEIGHTS, images.dtype).reshape(shape)
        gray = ops.sum(ops.multiply(images, weights), axis=channels, keepdims=True)
        apply_it = ops.less(self._uniform(images, (1, 1, 1), 0.0, 1.0), float(self.factor))
        return ops.where(apply_it, ops.add(gray, ops.zeros_like(images)), images)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor}


class RandomInvert(RandomImageLayer):
    """Inverts each image (`value_range[1] - x`) with a probability drawn in `factor` while training.

    Args:
        factor: a probability or a (low, high) range of probabilities in [0, 1].
        value_range: the (min, max) of the pixel values.
        seed: an int making the draws reproducible.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = bounded_pair(factor, "factor", (0, 1))
        self.value_range = _value_range(value_range, "RandomInvert")

    def _augment(self, images):
        probability = self._uniform(images, (1, 1, 1), self.factor[0], self.factor[1])
        threshold = self._uniform(images, (1, 1, 1), 0.0, 1.0, stream=1)
        return ops.where(ops.less(threshold, probability), ops.subtract(float(self.value_range[1]), images), images)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


def _to_255(images, value_range):
    low, high = (float(v) for v in value_range)
    return images if (low, high) == (0.0, 255.0) else ops.multiply(ops.subtract(images, low), 255.0 / (high - low))


def _from_255(images, value_range):
    low, high = (float(v) for v in value_range)
    return images if (low, high) == (0.0, 255.0) else ops.add(ops.multiply(images, (high - low) / 255.0), low)


def _unit_pair(factor, name: str) -> tuple:
    """Solarization's factors: f in [0, 1] gives (0, f); a pair is sorted."""
    values = list(factor) if isinstance(factor, (tuple, list)) else [factor]
    if len(values) not in (1, 2) or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in values):
        raise ValueError(f"The `{name}` argument should be a number (or a list of two numbers) in the range "
                         f"[0, 1]. Received: {name}={factor}")
    return tuple(sorted(values)) if len(values) == 2 else (0, values[0])


class Solarization(RandomImageLayer):
    """Adds a random amount to each image, then inverts (255 - x) the values at or above a random threshold,
    while training (on the 0-255 scale of `value_range`).

    Args:
        addition_factor: f gives additions in [0, 255 f]; a pair (lo, hi) gives [lo, 255 hi], as Keras draws.
        threshold_factor: the same for the threshold.
        value_range: the (min, max) of the pixel values.
        seed: an int making the draws reproducible.
    """

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = _unit_pair(addition_factor, "addition_factor")
        self.threshold_factor = _unit_pair(threshold_factor, "threshold_factor")
        self.value_range = sorted(_value_range(value_range, "Solarization"))

    def _augment(self, images):
        additions = self._uniform(images, (1, 1, 1), self.addition_factor[0], self.addition_factor[1] * 255)
        thresholds = self._uniform(images, (1, 1, 1), self.threshold_factor[0], self.threshold_factor[1] * 255,
                                   stream=1)
        results = ops.clip(ops.add(_to_255(images, self.value_range), ops.cast(additions, images.dtype)), 0, 255)
        results = ops.where(ops.less(results, ops.cast(thresholds, images.dtype)), results,
                            ops.subtract(255.0, results))
        return _from_255(results, self.value_range)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "value_range": self.value_range,
                "addition_factor": self.addition_factor, "threshold_factor": self.threshold_factor,
                "seed": self.seed}


class RandomColorDegeneration(RandomImageLayer):
    """Blends each image toward its grayscale version by a random factor while training, then clips.

    Args:
        factor: f gives blend factors in [-f, f]; a pair (lo, hi) in [lo, hi].
        value_range: the (min, max) of the pixel values.
        seed: an int making the draws reproducible.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = bounded_pair(factor, "factor", (-1, 1))
        self.value_range = sorted(_value_range(value_range, "RandomColorDegeneration"))

    def _augment(self, images):
        channels = -1 if self.data_format == "channels_last" else 1
        shape = (1, 1, 3) if channels == -1 else (3, 1, 1)
        gray = ops.sum(ops.multiply(images, np.asarray(_GRAY_WEIGHTS, images.dtype).reshape(shape)), axis=channels,
                       keepdims=True)
        factor = ops.cast(self._uniform(images, (1, 1, 1), self.factor[0], self.factor[1]), images.dtype)
        blended = ops.add(images, ops.multiply(factor, ops.subtract(gray, images)))
        return ops.clip(blended, self.value_range[0], self.value_range[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}
