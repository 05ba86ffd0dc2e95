"""Color augmentations in HSV space: RandomHue, RandomSaturation, and RandomColorJitter, which chains them after
RandomBrightness and RandomContrast. All are random in training only."""

from __future__ import annotations

from kgraph import config, ops
from kgraph.layers.preprocessing.augmentation import RandomBrightness, RandomContrast, bounded_pair
from kgraph.layers.preprocessing.transforms import ImageTransformLayer, transform_value_range, value_range_pair


def _channel_planes(images, data_format: str) -> tuple[list, int]:
    """The three channel planes of a batch, and the channels axis to stack them back on."""
    axis = -1 if data_format == "channels_last" else 1
    return [ops.take(images, i, axis=axis) for i in range(3)], axis


class RandomHue(ImageTransformLayer):
    """Rotates each image's hue by a random amount, up to half a turn times `factor`, in either direction.

    Args:
        factor: f in [0, 1] gives amounts in [0, f]; a pair (lo, hi) in [lo, hi].
        value_range: the (min, max) of the pixel values.
        data_format: "channels_last" or "channels_first".
        seed: an int making the draws reproducible.
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = bounded_pair(factor, "factor", (0, 1))
        self.value_range = value_range

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        invert = ops.where(ops.greater(self._uniform_rows(images, 0.0, 1.0, 0), 0.5), -1.0, 1.0)
        factor = self._uniform_rows(images, self.factor[0], self.factor[1], 1)
        return {"factor": ops.multiply(ops.multiply(invert, factor), 0.5)}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if not training:
            return images
        images = transform_value_range(images, self.value_range, (0, 1))
        adjust = ops.reshape(ops.cast(transformation["factor"], images.dtype), (-1, 1, 1))
        (hue, saturation, value), axis = _channel_planes(ops.image.rgb_to_hsv(images, data_format=self.data_format),
                                                        self.data_format)
        hue = ops.add(hue, adjust)
        hue = ops.where(ops.greater(hue, 1.0), ops.subtract(hue, 1.0), hue)
        hue = ops.where(ops.less(hue, 0.0), ops.add(hue, 1.0), hue)
        images = ops.image.hsv_to_rgb(ops.stack([hue, saturation, value], axis=axis), data_format=self.data_format)
        images = transform_value_range(ops.clip(images, 0.0, 1.0), (0, 1), self.value_range)
        return ops.cast(images, self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


class RandomSaturation(ImageTransformLayer):
    """Scales each image's saturation by f / (1 - f), f drawn in `factor` (0.5 keeps it, 1 saturates fully), then
    clips the saturation to `value_range`, as Keras does.

    Args:
        factor: f gives draws in [-f, f] (negative ones desaturate fully, as in Keras); a pair (lo, hi) in
            [lo, hi], within [-1, 1].
        value_range: the (min, max) of the pixel values.
        data_format: "channels_last" or "channels_first".
        seed: an int making the draws reproducible.
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = bounded_pair(factor, "factor", (-1, 1))
        self.value_range = value_range_pair(value_range, "RandomSaturation")

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        factor = self._uniform_rows(images, self.factor[0], self.factor[1], 0)
        return {"factor": ops.divide(factor, ops.add(ops.subtract(1.0, factor), config.epsilon()))}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if not training:
            return images
        adjust = ops.reshape(ops.cast(transformation["factor"], images.dtype), (-1, 1, 1))
        (hue, saturation, value), axis = _channel_planes(ops.image.rgb_to_hsv(images, data_format=self.data_format),
                                                        self.data_format)
        saturation = ops.clip(ops.multiply(saturation, adjust), self.value_range[0], self.value_range[1])
        return ops.image.hsv_to_rgb(ops.stack([hue, saturation, value], axis=axis), data_format=self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


class RandomColorJitter(ImageTransformLayer):
    """Applies, in this order, RandomBrightness, RandomContrast, RandomSaturation and RandomHue for each factor
    given (None skips that step).

    Args:
        value_range: the (min, max) of the pixel values.
        brightness_factor, contrast_factor, saturation_factor, hue_factor: each step's `factor`.
        seed: an int making the draws reproducible.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None, saturation_factor=None,
                 hue_factor=None, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = value_range
        self.brightness_factor, self.contrast_factor = brightness_factor, contrast_factor
        self.saturation_factor, self.hue_factor = saturation_factor, hue_factor
        steps = ((RandomBrightness, brightness_factor), (RandomContrast, contrast_factor),
                 (RandomSaturation, saturation_factor), (RandomHue, hue_factor))
        self._steps = [cls(factor=factor, value_range=value_range, seed=None if seed is None else seed + index,
                           data_format=self.data_format)
                       for index, (cls, factor) in enumerate(steps) if factor is not None]

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if not training:
            return images
        for step in self._steps:
            images = step._augment(images) if not isinstance(step, ImageTransformLayer) else \
                step.transform_images(images, step.get_random_transformation(images))
        return ops.cast(images, self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "value_range": self.value_range,
                "brightness_factor": self.brightness_factor, "contrast_factor": self.contrast_factor,
                "saturation_factor": self.saturation_factor, "hue_factor": self.hue_factor, "seed": self.seed}
