"""RandomPerspective: moves the four corners of each image by random offsets and warps it to match, in training."""

from __future__ import annotations

import numpy as np

from kgraph import ops
from kgraph.layers.preprocessing.augmentation import bounded_pair
from kgraph.layers.preprocessing.transforms import ImageTransformLayer

INTERPOLATIONS = ("nearest", "bilinear")


class RandomPerspective(ImageTransformLayer):
    """With a probability drawn in `factor`, warps each image so that its corners move by up to `scale` / 2 of
    their coordinates, filling the uncovered area with `fill_value`.

    Args:
        factor: the probability: f in [0, 1] gives draws in [0, f]; a pair (lo, hi) in [lo, hi].
        scale: the distortion, in [0, 1].
        interpolation: "nearest" or "bilinear".
        fill_value: the value of points from outside the image.
        seed: an int making the draws reproducible.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0, seed=None, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = bounded_pair(factor, "factor", (0, 1))
        if not 0.0 <= scale <= 1.0:
            raise ValueError(f"The `scale` argument should be a number in the range [0,1]. Received: scale={scale}")
        if interpolation not in INTERPOLATIONS:
            raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Expected of one {INTERPOLATIONS}.")
        self.scale, self.interpolation, self.fill_value = scale, interpolation, fill_value

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        rows, cols = (-3, -2) if self.data_format == "channels_last" else (-2, -1)
        height, width = images.shape[rows], images.shape[cols]
        probability = self._uniform_rows(images, self.factor[0], self.factor[1], 0)
        threshold = self._uniform_rows(images, 0.0, 1.0, 1)
        offsets = self._uniform_rows(images, -0.5 * self.scale, 0.5 * self.scale, 2, shape=(4, 2))
        corners = np.array([[0.0, 0.0], [width - 1, 0.0], [0.0, height - 1], [width - 1, height - 1]], "float32")
        start_points = ops.add(ops.zeros_like(offsets), corners)
        return {"apply_perspective": ops.less(threshold, probability), "start_points": start_points,
                "end_points": ops.add(start_points, ops.multiply(start_points, offsets))}

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if not training or transformation is None:
            return images
        warped = ops.image.perspective_transform(images, transformation["start_points"],
                                                 transformation["end_points"], interpolation=self.interpolation,
                                                 fill_value=self.fill_value, data_format=self.data_format)
        apply_it = ops.reshape(transformation["apply_perspective"], (-1, 1, 1, 1))
        return ops.where(apply_it, ops.cast(warped, images.dtype), images)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_value": self.fill_value, "seed": self.seed}
