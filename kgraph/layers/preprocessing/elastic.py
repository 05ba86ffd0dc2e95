"""RandomElasticTransform: an elastic deformation of each image with a probability drawn in `factor`, in training.

Keras sizes the blur kernel from its random draw (int(6 * sigma) | 1 with sigma proportional to the draw), so its
layer needs concrete values; kgraph records the largest kernel `scale` allows, with the taps beyond the drawn size
set to zero, which computes the same blur in one compiled step.
"""

from __future__ import annotations

import numpy as np

from kgraph import ops
from kgraph.layers.preprocessing.augmentation import bounded_pair
from kgraph.layers.preprocessing.transforms import ImageTransformLayer
from kgraph.ops.dispatch import apply, is_symbolic, unwrap
from kgraph.ops.image_elastic import kernel_size_for

INTERPOLATIONS = ("nearest", "bilinear")
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
_ELASTIC_STREAM = 3


class RandomElasticTransform(ImageTransformLayer):
    """With a probability drawn per image in `factor`, displaces each image's pixels along a random field smoothed
    by a Gaussian, then clips to `value_range`; the distortion, drawn once per batch in `scale`, sets the field's
    scale (alpha = 0.1 * distortion * max(height, width)) and smoothness (sigma = 0.05 * distortion *
    min(height, width)), as Keras computes them.

    Args:
        factor: the probability: f in [0, 1] gives draws in [0, f]; a pair (lo, hi) in [lo, hi].
        scale: the distortion: f in [0, 1] gives draws in [0, f]; a pair (lo, hi) in [lo, hi].
        interpolation: "nearest" or "bilinear".
        fill_mode: "constant", "nearest", "wrap", "mirror" or "reflect": how points outside the image are read.
        fill_value: the value outside the image with `fill_mode="constant"`.
        value_range: the (min, max) of the pixel values.
        seed: an int making the draws reproducible.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = bounded_pair(factor, "factor", (0, 1))
        self.scale = bounded_pair(scale, "scale", (0, 1))
        if interpolation not in INTERPOLATIONS:
            raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Expected of one {INTERPOLATIONS}.")
        if fill_mode not in FILL_MODES:
            raise NotImplementedError(f"Unknown `fill_mode` {fill_mode}. Expected of one {FILL_MODES}.")
        self.interpolation, self.fill_mode, self.fill_value = interpolation, fill_mode, fill_value
        self.value_range = value_range

    def get_random_transformation(self, data, training=True, seed=None):
        if not training or self.scale[1] == 0 or self.factor[1] == 0:
            return None
        images = data["images"] if isinstance(data, dict) else data
        probability = self._uniform_rows(images, self.factor[0], self.factor[1], 0)
        threshold = self._uniform_rows(images, 0.0, 1.0, 1)
        distortion = ops.take(self._uniform_rows(images, self.scale[0], self.scale[1], 2), 0)
        return {"apply_transform": ops.less(threshold, probability),
                "distortion_factor": ops.cast(distortion, self.compute_dtype), "seed": self._key()}

    def _size(self, images) -> tuple[int, int]:
        rows, cols = (-3, -2) if self.data_format == "channels_last" else (-2, -1)
        height, width = images.shape[rows], images.shape[cols]
        if height is None or width is None:
            raise ValueError(f"RandomElasticTransform needs images of known height and width. Received: "
                             f"images.shape={tuple(images.shape)}")
        return height, width

    def _kernel_size(self, height: int, width: int, distortion) -> int:
        """The largest blur kernel the `scale` range allows (or, for a concrete draw, its own)."""
        largest = np.float32(min(height, width)) * (np.float32(0.05) * np.float32(self.scale[1]))
        size = kernel_size_for(largest)
        if not is_symbolic(distortion):
            drawn = np.float32(min(height, width)) * (np.float32(0.05) * np.asarray(distortion, "float32"))
            size = max(size, kernel_size_for(drawn))
        return size

    def _key_and_fold(self, seed):
        """Keras' key for an int seed (a transformation drawn by Keras); else this layer's key, its stream folded."""
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            return np.array([int(seed) & 0xFFFFFFFF, 0], "uint32"), None
        return seed, self._seed_offset + _ELASTIC_STREAM

    def transform_images(self, images, transformation=None, training=True):
        images = ops.cast(images, self.compute_dtype)
        if not training or transformation is None:
            return images
        height, width = self._size(images)
        distortion = unwrap(transformation["distortion_factor"])
        alpha = ops.multiply(float(max(height, width)), ops.multiply(0.1, distortion))
        sigma = ops.multiply(float(min(height, width)), ops.multiply(0.05, distortion))
        key, fold = self._key_and_fold(transformation["seed"])
        warped = apply("elastic_transform", images, ops.cast(alpha, "float32"), ops.cast(sigma, "float32"), key,
                       kernel_size=self._kernel_size(height, width, distortion), interpolation=self.interpolation,
                       fill_mode=self.fill_mode, fill_value=float(self.fill_value), data_format=self.data_format,
                       seed=fold)
        apply_it = ops.reshape(transformation["apply_transform"], (-1, 1, 1, 1))
        images = ops.clip(ops.where(apply_it, warped, images), self.value_range[0], self.value_range[1])
        return ops.cast(images, self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "value_range": self.value_range, "seed": self.seed}
