"""The base of the augmentation layers split as Keras splits them: a random draw (`get_random_transformation`)
and its application (`transform_images`, `transform_labels`), so a transformation can be drawn once and applied to
images and labels alike. Inputs are images or a dict with "images" (and optionally "labels"), as in Keras."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.preprocessing.augmentation import RandomImageLayer
from kgraph.ops.dispatch import apply


def value_range_pair(value_range, layer: str) -> list:
    """Keras' `_set_value_range`: two numbers, sorted."""
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"{layer}: the `value_range` argument should be a list of two numbers. Received: "
                         f"value_range={value_range}")
    return sorted(value_range)


def transform_value_range(images, original_range, target_range, dtype: str = "float32"):
    """Keras' `_transform_value_range`: maps images linearly from one (min, max) range onto another."""
    if original_range[0] == target_range[0] and original_range[1] == target_range[1]:
        return images
    images = ops.cast(images, dtype)
    low, high = (float(v) for v in original_range)
    target_low, target_high = (float(v) for v in target_range)
    images = ops.divide(ops.subtract(images, low), high - low)
    return ops.add(ops.multiply(images, target_high - target_low), target_low)


class ImageTransformLayer(RandomImageLayer):
    """A random augmentation drawn by `get_random_transformation` and applied by `transform_images` and
    `transform_labels`; in inference images are only cast to the layer's dtype."""

    def get_random_transformation(self, data, training=True, seed=None):
        return None

    def transform_images(self, images, transformation, training=True):
        raise NotImplementedError

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def _draw(self, op: str, template, stream: int, **attrs):
        """One random op of this layer's draws; `stream` keeps the draws of one call independent."""
        return apply(op, template, self._key(), seed=self._seed_offset + stream, **attrs)

    def _uniform_rows(self, images, minval, maxval, stream: int, shape=(), dtype: str = "float32"):
        return self._draw("random_uniform_rows", images, stream, shape=tuple(shape), minval=float(minval),
                          maxval=float(maxval), dtype=dtype)

    def call(self, data, training=True):
        images = data["images"] if isinstance(data, dict) else data
        if len(images.shape) not in (3, 4):
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) expects images of rank 3 or 4. Received "
                             f"images.shape={tuple(images.shape)}")
        single = len(images.shape) == 3
        batch = ops.expand_dims(images, 0) if single else images
        transformation = self.get_random_transformation(batch, training=training) if training else None
        out = self.transform_images(batch, transformation, training=training)
        out = ops.squeeze(out, 0) if single else out
        if not isinstance(data, dict):
            return out
        result = {**data, "images": out}
        if "labels" in data:
            labels = data["labels"]
            labels = ops.expand_dims(labels, 0) if single else labels
            labels = self.transform_labels(labels, transformation, training=training)
            result["labels"] = ops.squeeze(labels, 0) if single else labels
        return result
