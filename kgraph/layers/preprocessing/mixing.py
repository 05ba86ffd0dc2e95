"""Augmentations that cut or mix image regions: RandomErasing (fills a random box), MixUp and CutMix (blend each
image, and its label, with a random partner of the batch). They take images or {"images", "labels"} dicts."""

from __future__ import annotations

import numpy as np

from kgraph import ops
from kgraph.ir.types import is_float
from kgraph.layers.preprocessing.augmentation import bounded_pair
from kgraph.layers.preprocessing.transforms import ImageTransformLayer


class _BoxLayer(ImageTransformLayer):
    """Draws one axis-aligned box per image, as Keras' RandomErasing and CutMix do."""

    def _spatial(self, images) -> tuple[int, int, int]:
        axes = (-3, -2, -1) if self.data_format == "channels_last" else (-2, -1, -3)
        height, width, channels = (images.shape[a] for a in axes)
        if height is None or width is None:
            raise ValueError(f"{type(self).__name__} needs images of known height and width. Received "
                             f"images.shape={tuple(images.shape)}")
        return height, width, channels

    def _bounds(self, images, length: int, ratio, stream: int):
        crop = ops.multiply(ratio, float(length))
        start = ops.multiply(self._uniform_rows(images, 0.0, 1.0, stream), ops.subtract(float(length), crop))
        return start, ops.add(start, crop)

    def _box_mask(self, images, x0, x1, y0, y1):
        height, width, channels = self._spatial(images)
        grid_y, grid_x = np.meshgrid(np.arange(height, dtype="float32"), np.arange(width, dtype="float32"),
                                     indexing="ij")
        shape = (1, height, width, 1) if self.data_format == "channels_last" else (1, 1, height, width)
        grid_y, grid_x = grid_y.reshape(shape), grid_x.reshape(shape)
        x0, x1, y0, y1 = (ops.reshape(v, (-1, 1, 1, 1)) for v in (x0, x1, y0, y1))
        inside = ops.logical_and(ops.logical_and(ops.greater_equal(grid_x, x0), ops.less(grid_x, x1)),
                                 ops.logical_and(ops.greater_equal(grid_y, y0), ops.less(grid_y, y1)))
        return ops.repeat(inside, channels, axis=-1 if self.data_format == "channels_last" else 1)


class RandomErasing(_BoxLayer):
    """With a probability drawn in `factor`, fills a random box of each image (its sides a random fraction
    sqrt(s) of the image's, s drawn in `scale`) with `fill_value`, or with Gaussian noise scaled to the value range.

    Args:
        factor: the erasing probability: f in [0, 1] gives draws in [0, f]; a pair (lo, hi) in [lo, hi].
        scale: the range of s, in [0, 1].
        fill_value: a number, three numbers (one per channel), or None for Gaussian noise times the range's maximum;
            clipped to `value_range`.
        value_range: the (min, max) of the pixel values.
        seed: an int making the draws reproducible.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255), seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = bounded_pair(factor, "factor", (0, 1))
        self.scale = bounded_pair(scale, "scale", (0, 1))
        if fill_value is not None and not (isinstance(fill_value, (int, float)) or (
                isinstance(fill_value, (tuple, list)) and len(fill_value) == 3)):
            raise ValueError(f"The `fill_value` argument should be a number (or a list of three numbers). Received: "
                             f"fill_value={fill_value}")
        self.fill_value = fill_value
        self.value_range = value_range

    def _fill(self, images):
        if self.fill_value is None:
            noise = self._draw("random_normal_like", images, 6)
            fill = ops.multiply(noise, float(self.value_range[1]))
        else:
            shape = (1, 1, 1, -1) if self.data_format == "channels_last" else (1, -1, 1, 1)
            fill = ops.add(ops.zeros_like(images), np.asarray(self.fill_value, images.dtype).reshape(shape))
        return ops.clip(fill, self.value_range[0], self.value_range[1])

    def get_random_transformation(self, data, training=True, seed=None):
        images = ops.cast(data["images"] if isinstance(data, dict) else data, self.compute_dtype)
        height, width, _ = self._spatial(images)
        weights = ops.sqrt(self._uniform_rows(images, self.scale[0], self.scale[1], 0, shape=(2,)))
        x0, x1 = self._bounds(images, width, ops.take(weights, 0, axis=1), 1)
        y0, y1 = self._bounds(images, height, ops.take(weights, 1, axis=1), 2)
        probability = self._uniform_rows(images, self.factor[0], self.factor[1], 3)
        threshold = self._uniform_rows(images, 0.0, 1.0, 4)
        return {"apply_erasing": ops.less(threshold, probability),
                "batch_masks": self._box_mask(images, x0, x1, y0, y1), "fill_value": self._fill(images)}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if not training:
            return images
        erased = ops.where(transformation["batch_masks"], ops.cast(transformation["fill_value"], images.dtype),
                           images)
        return ops.where(ops.reshape(transformation["apply_erasing"], (-1, 1, 1, 1)), erased, images)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor, "scale": self.scale,
                "fill_value": self.fill_value, "value_range": self.value_range, "seed": self.seed}


def _mix(values, partners, weight):
    """weight * values + (1 - weight) * partners, `weight` one per row."""
    weight = ops.reshape(ops.cast(weight, values.dtype), (-1,) + (1,) * (len(values.shape) - 1))
    return ops.add(ops.multiply(weight, values), ops.multiply(ops.subtract(1.0, weight), partners))


def _float_labels(labels, dtype: str):
    return labels if is_float(str(labels.dtype)) else ops.cast(labels, dtype)


class MixUp(ImageTransformLayer):
    """Blends each image and its label with those of a random partner of the batch, by a weight drawn from
    Beta(alpha, alpha), while training.

    Args:
        alpha: the Beta distribution's concentration.
        data_format: "channels_last" or "channels_first".
        seed: an int making the draws reproducible.
    """

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or alpha <= 0:
            raise ValueError(f"MixUp: `alpha` should be a positive number. Received: alpha={alpha}")
        self.alpha = alpha

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        return {"mix_weight": self._draw("random_beta_rows", images, 1, lower=float(self.alpha),
                                         upper=float(self.alpha)),
                "permutation_order": self._draw("random_permutation_rows", images, 0)}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if not training:
            return images
        partners = ops.take(images, transformation["permutation_order"], axis=0)
        return _mix(images, partners, transformation["mix_weight"])

    def transform_labels(self, labels, transformation, training=True):
        if not training:
            return labels
        labels = _float_labels(labels, self.compute_dtype)
        return _mix(labels, ops.take(labels, transformation["permutation_order"], axis=0),
                    transformation["mix_weight"])

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "alpha": self.alpha, "seed": self.seed}


class CutMix(_BoxLayer):
    """Pastes into each image a random box of a random partner of the batch, and mixes the labels by the pasted
    area, while training. The box's sides are a fraction sqrt(1 - w) of the image's, w drawn from Beta(a, a) with a
    drawn in `factor`. Single images pass unchanged, as in Keras.

    Args:
        factor: the range of a: f in [0, 1] gives [0, f]; a pair (lo, hi) gives [lo, hi].
        seed: an int making the draws reproducible.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = bounded_pair(factor, "factor", (0, 1))

    def call(self, data, training=True):
        images = data["images"] if isinstance(data, dict) else data
        if len(images.shape) == 3:
            return super().call(data, training=False)
        return super().call(data, training=training)

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        height, width, _ = self._spatial(images)
        weight = self._draw("random_beta_rows", images, 0, lower=float(self.factor[0]) + 1e-6,
                            upper=float(self.factor[1]) + 1e-6, dtype=self.compute_dtype)
        ratio = ops.sqrt(ops.subtract(1.0, weight))
        x0, x1 = self._bounds(images, width, ratio, 1)
        y0, y1 = self._bounds(images, height, ratio, 2)
        area = ops.multiply(ops.subtract(x1, x0), ops.subtract(y1, y0))
        return {"permutation_order": self._draw("random_permutation_rows", images, 3),
                "batch_masks": self._box_mask(images, x0, x1, y0, y1),
                "mix_weight": ops.subtract(1.0, ops.divide(area, float(width * height)))}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if not training or transformation is None:
            return images
        return ops.where(transformation["batch_masks"], ops.take(images, transformation["permutation_order"], axis=0),
                         images)

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        labels = _float_labels(labels, self.compute_dtype)
        return _mix(labels, ops.take(labels, transformation["permutation_order"], axis=0),
                    transformation["mix_weight"])

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor, "seed": self.seed}
