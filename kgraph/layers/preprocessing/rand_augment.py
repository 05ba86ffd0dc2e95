"""RandAugment: applies `num_ops` augmentations, each chosen at random per batch among eleven, in training."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.preprocessing.augmentation import (
    RandomBrightness, RandomContrast, RandomRotation, RandomShear, RandomTranslation,
)
from kgraph.layers.preprocessing.color import AutoContrast, RandomColorDegeneration, Solarization
from kgraph.layers.preprocessing.filters import RandomPosterization, RandomSharpness
from kgraph.layers.preprocessing.histogram import Equalization
from kgraph.layers.preprocessing.augmentation import bounded_pair
from kgraph.layers.preprocessing.transforms import ImageTransformLayer


def apply_augmentation(layer, images):
    """One sub-layer's training transform of a float batch, whichever base it is built on."""
    if isinstance(layer, ImageTransformLayer):
        return layer.transform_images(images, layer.get_random_transformation(images))
    if isinstance(layer, AutoContrast):
        return layer(images)
    return layer._augment(images)


class RandAugment(ImageTransformLayer):
    """For each of `num_ops` rounds, draws one of shear, translation, rotation, brightness, color degeneration,
    contrast, sharpness, posterization, solarization, auto contrast and equalization for the whole batch and
    applies it, with strengths drawn in `factor`.

    Args:
        value_range: the (min, max) of the pixel values.
        num_ops: how many augmentations to apply.
        factor: the strength range: f in [0, 1] gives [0, f]; a pair (lo, hi) in [lo, hi].
        interpolation: "nearest" or "bilinear", for the geometric augmentations.
        seed: an int making the draws reproducible.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range, self.num_ops, self.interpolation = value_range, num_ops, interpolation
        self.factor = bounded_pair(factor, "factor", (0, 1))
        geometry = dict(interpolation=interpolation, data_format=self.data_format)
        color = dict(value_range=value_range, data_format=self.data_format)
        builders = [
            lambda s: RandomShear(x_factor=self.factor, y_factor=self.factor, seed=s, **geometry),
            lambda s: RandomTranslation(height_factor=self.factor, width_factor=self.factor, seed=s, **geometry),
            lambda s: RandomRotation(factor=self.factor, seed=s, **geometry),
            lambda s: RandomBrightness(factor=self.factor, seed=s, **color),
            lambda s: RandomColorDegeneration(factor=self.factor, seed=s, **color),
            lambda s: RandomContrast(factor=self.factor, seed=s, **color),
            lambda s: RandomSharpness(factor=self.factor, seed=s, **color),
            lambda s: RandomPosterization(factor=max(1, int(8 * self.factor[1])), seed=s, **color),
            lambda s: Solarization(addition_factor=self.factor, threshold_factor=self.factor, seed=s, **color),
            lambda s: AutoContrast(**color),
            lambda s: Equalization(**color),
        ]
        self._augmentations = [build(None if seed is None else seed + i) for i, build in enumerate(builders)]

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        draws = self._uniform_rows(images, 0.0, float(len(self._augmentations)), 0, shape=(self.num_ops,))
        return {"layer_idxes": ops.floor(ops.take(draws, 0, axis=0))}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if not training:
            return images
        for i in range(self.num_ops):
            chosen = ops.take(transformation["layer_idxes"], i)
            for index, layer in enumerate(self._augmentations):
                augmented = ops.cast(apply_augmentation(layer, images), self.compute_dtype)
                images = ops.where(ops.equal(chosen, float(index)), augmented, images)
        return images

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "value_range": self.value_range,
                "num_ops": self.num_ops, "factor": self.factor, "interpolation": self.interpolation,
                "seed": self.seed}
