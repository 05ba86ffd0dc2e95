"""AugMix: blends each batch with a Dirichlet-weighted mix of chains of random augmentations, in training."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.preprocessing.augmentation import (
    RandomBrightness, RandomContrast, RandomRotation, RandomShear, RandomTranslation,
)
from kgraph.layers.preprocessing.color import AutoContrast, RandomColorDegeneration, Solarization
from kgraph.layers.preprocessing.filters import RandomPosterization, RandomSharpness
from kgraph.layers.preprocessing.histogram import Equalization
from kgraph.layers.preprocessing.rand_augment import apply_augmentation
from kgraph.layers.preprocessing.augmentation import bounded_pair
from kgraph.layers.preprocessing.transforms import ImageTransformLayer


class AugMix(ImageTransformLayer):
    """Runs `num_chains` chains of `chain_depth` steps; each step applies one augmentation drawn at random per
    batch, or none. The chains are mixed with Dirichlet(alpha) weights, and the mix blended with the input by a
    Beta(alpha, alpha) weight, then clipped to `value_range`.

    Args:
        value_range: the (min, max) of the pixel values.
        num_chains: how many chains to mix.
        chain_depth: the steps of each chain.
        factor: the augmentations' strength range: f in [0, 1] gives [0, f]; a pair (lo, hi) in [lo, hi].
        alpha: the Dirichlet and Beta concentration.
        all_ops: whether the color augmentations (brightness, color degeneration, contrast, sharpness) take part
            besides shear, translation, rotation, posterization, solarization, auto contrast and equalization.
        interpolation: "nearest" or "bilinear", for the geometric augmentations.
        seed: an int making the draws reproducible.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3, alpha=1.0, all_ops=True,
                 interpolation="bilinear", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or alpha <= 0:
            raise ValueError(f"AugMix: `alpha` should be a positive number. Received: alpha={alpha}")
        self.value_range, self.num_chains, self.chain_depth = value_range, num_chains, chain_depth
        self.factor = bounded_pair(factor, "factor", (0, 1))
        self.alpha, self.all_ops, self.interpolation = alpha, all_ops, interpolation
        geometry = dict(interpolation=interpolation, data_format=self.data_format)
        color = dict(value_range=value_range, data_format=self.data_format)
        builders = [
            lambda s: RandomShear(x_factor=self.factor, y_factor=self.factor, seed=s, **geometry),
            lambda s: RandomTranslation(height_factor=self.factor, width_factor=self.factor, seed=s, **geometry),
            lambda s: RandomRotation(factor=self.factor, seed=s, **geometry),
            lambda s: RandomPosterization(factor=max(1, int(8 * self.factor[1])), seed=s, **color),
            lambda s: Solarization(addition_factor=self.factor, threshold_factor=self.factor, seed=s, **color),
            lambda s: AutoContrast(**color),
            lambda s: Equalization(**color),
        ]
        if all_ops:
            builders += [
                lambda s: RandomBrightness(factor=self.factor, seed=s, **color),
                lambda s: RandomColorDegeneration(factor=self.factor, seed=s, **color),
                lambda s: RandomContrast(factor=self.factor, seed=s, **color),
                lambda s: RandomSharpness(factor=self.factor, seed=s, **color),
            ]
        self._augmentations = [build(None if seed is None else seed + i) for i, build in enumerate(builders)]

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        gammas = ops.take(self._draw("random_gamma_rows", images, 0, shape=(self.num_chains,),
                                     alpha=float(self.alpha)), 0, axis=0)
        weight = ops.take(self._draw("random_beta_rows", images, 1, lower=float(self.alpha),
                                     upper=float(self.alpha)), 0)
        choices = self._uniform_rows(images, 0.0, float(len(self._augmentations) + 1), 2,
                                     shape=(self.num_chains, self.chain_depth))
        return {"chain_mixing_weights": ops.divide(gammas, ops.sum(gammas)), "weight_sample": weight,
                "layer_idxes": ops.floor(ops.take(choices, 0, axis=0))}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if not training:
            return images
        weights = ops.cast(transformation["chain_mixing_weights"], images.dtype)
        mixed = ops.zeros_like(images)
        for chain in range(self.num_chains):
            chained = images
            for step in range(self.chain_depth):
                chosen = ops.take(ops.take(transformation["layer_idxes"], chain, axis=0), step)
                for index, layer in enumerate(self._augmentations):
                    augmented = ops.cast(apply_augmentation(layer, chained), images.dtype)
                    chained = ops.where(ops.equal(chosen, float(index)), augmented, chained)
            mixed = ops.add(mixed, ops.multiply(chained, ops.take(weights, chain)))
        weight = ops.cast(transformation["weight_sample"], images.dtype)
        images = ops.add(ops.multiply(weight, images), ops.multiply(ops.subtract(1.0, weight), mixed))
        return ops.clip(images, self.value_range[0], self.value_range[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "value_range": self.value_range,
                "num_chains": self.num_chains, "chain_depth": self.chain_depth, "factor": self.factor,
                "alpha": self.alpha, "all_ops": self.all_ops, "interpolation": self.interpolation,
                "seed": self.seed}
