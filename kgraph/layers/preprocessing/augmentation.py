"""Image augmentation layers: random flips, rotations, zooms, translations, crops, contrast and brightness.

Each is active only in training (a call without `training` counts as training, as in Keras) and draws from
the step's PRNG key folded with its own seed; seeded eager calls repeat the same sequence of draws.
"""

from __future__ import annotations

from kgraph import config, ops
from kgraph import random as kg_random
from kgraph.layers.layer import Layer
from kgraph.ops.dispatch import apply
from kgraph.tracing import current_trace

HORIZONTAL, VERTICAL, BOTH = "horizontal", "vertical", "horizontal_and_vertical"
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def bounded_pair(factor, name: str, bounds: tuple[float, float]) -> tuple:
    """Keras' `_set_factor` under any argument name: f gives (max(-f, low), f), a pair is sorted."""
    message = (f"The `{name}` argument should be a number (or a list of two numbers) in the range "
               f"[{bounds[0]}, {bounds[1]}]. Received: {name}={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(message)
        lower, upper = sorted(factor)
        return lower, upper
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        if not bounds[0] <= factor <= bounds[1]:
            raise ValueError(message)
        return max(-abs(factor), bounds[0]), abs(factor)
    raise ValueError(message)


def _range_pair(layer: str, factor, name: str) -> tuple[float, float]:
    """The zoom and translation factors: f gives (-f, f), a pair is sorted; each in (-1, 1]."""
    values = list(factor) if isinstance(factor, (tuple, list)) else [factor]
    if len(values) not in (1, 2) or not all(isinstance(v, (int, float)) and -1.0 < v <= 1.0 for v in values):
        raise ValueError(f"The `{name}` argument of {layer} should be a number or a list of two numbers in the range "
                         f"(-1.0, 1.0]. Received: {name}={factor}")
    return tuple(sorted(values)) if len(values) == 2 else (-abs(values[0]), abs(values[0]))


class RandomImageLayer(Layer):
    """The base of the augmentation layers: seed handling, training switch, single images as batches of one."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.data_format = data_format or config.image_data_format()
        self._seed_offset = kg_random.next_seed() if seed is None else int(seed)
        self._eager_calls = 0
        self.built = True

    def _key(self):
        trace = current_trace()
        if trace is not None:
            return trace.rng()
        if self.seed is None:
            return kg_random.key()
        self._eager_calls += 1
        return kg_random.key(int(self.seed) * 1_000_003 + self._eager_calls)

    def _uniform(self, images, shape, minval: float, maxval: float, stream: int = 0):
        """Per-image uniform draws of shape (batch, *shape); each `stream` of one call draws independently."""
        return apply("random_uniform_rows", images, self._key(), shape=tuple(shape), minval=float(minval),
                     maxval=float(maxval), dtype="float32", seed=self._seed_offset + stream)

    def _spatial_axes(self) -> tuple[int, int]:
        return (1, 2) if self.data_format == "channels_last" else (2, 3)

    def call(self, inputs, training=True):
        if len(inputs.shape) not in (3, 4):
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) expects images of rank 3 or 4. Received "
                             f"inputs.shape={tuple(inputs.shape)}")
        images = ops.cast(inputs, self.compute_dtype)
        if not training:
            return self._inference(images)
        single = len(images.shape) == 3
        batch = ops.expand_dims(images, 0) if single else images
        out = self._augment(batch)
        return ops.squeeze(out, 0) if single else out

    def _inference(self, images):
        return images

    def compute_output_shape(self, input_shape):
        return input_shape


class RandomFlip(RandomImageLayer):
    """Flips each image horizontally and/or vertically with probability 1/2 while training.

    Args:
        mode: "horizontal", "vertical" or "horizontal_and_vertical" (both flips, decided together).
        seed: an int making the flips reproducible.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, mode=BOTH, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in (HORIZONTAL, VERTICAL, BOTH):
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode argument {mode}")
        self.mode = mode

    def _augment(self, images):
        flips = ops.less_equal(self._uniform(images, (1, 1, 1), 0.0, 1.0), 0.5)
        rows, cols = self._spatial_axes()
        out = images
        for axis, active in ((cols, self.mode in (HORIZONTAL, BOTH)), (rows, self.mode in (VERTICAL, BOTH))):
            if active:
                index = [slice(None)] * 4
                index[axis] = slice(None, None, -1)
                out = ops.where(flips, out[tuple(index)], out)
        return out

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "seed": self.seed, "mode": self.mode}


class _AffineLayer(RandomImageLayer):
    """A random per-image affine transform of one kind, sampled with `interpolation` and filled with `fill_mode`."""

    _kind = ""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if fill_mode not in FILL_MODES:
            raise NotImplementedError(f"Unknown `fill_mode` {fill_mode}. Expected of one {FILL_MODES}.")
        if interpolation not in INTERPOLATIONS:
            raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Expected of one {INTERPOLATIONS}.")
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def _ranges(self) -> dict:
        raise NotImplementedError

    def _augment(self, images):
        return apply("random_affine_images", images, self._key(), kind=self._kind, fill_mode=self.fill_mode,
                     interpolation=self.interpolation, fill_value=float(self.fill_value),
                     data_format=self.data_format, seed=self._seed_offset, **self._ranges())

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "interpolation": self.interpolation, "seed": self.seed}


class RandomRotation(_AffineLayer):
    """Rotates each image by a random angle while training.

    Args:
        factor: a fraction of a full turn: f rotates within [-f, f] * 360°, a pair (lo, hi) within [lo, hi] * 360°.
        fill_mode: how points outside the image are filled: "reflect", "wrap", "constant" or "nearest".
        interpolation: "bilinear" or "nearest".
        seed: an int making the rotations reproducible.
        fill_value: the value outside the image with `fill_mode="constant"`.
        data_format: "channels_last" or "channels_first".
    """

    _kind = "rotation"

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = bounded_pair(factor, "factor", (-1, 1))

    def _ranges(self) -> dict:
        return {"lower": float(self.factor[0]), "upper": float(self.factor[1])}

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_AffineLayer):
    """Zooms each image by a random factor while training: negative factors zoom in, positive ones out.

    Args:
        height_factor: f zooms the height within [1 - f, 1 + f]; a pair (lo, hi) within [1 + lo, 1 + hi].
        width_factor: the same for the width; None keeps the aspect ratio (the height's zoom).
        fill_mode, interpolation, seed, fill_value, data_format: as in `RandomRotation`.
    """

    _kind = "zoom"

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_lower, self.height_upper = _range_pair("RandomZoom", height_factor, "height_factor")
        self.width_lower, self.width_upper = (None, None) if width_factor is None else \
            _range_pair("RandomZoom", width_factor, "width_factor")

    def _ranges(self) -> dict:
        return {"lower": float(self.height_lower), "upper": float(self.height_upper),
                "width_lower": self.width_lower, "width_upper": self.width_upper}

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomTranslation(_AffineLayer):
    """Shifts each image by a random fraction of its height and width while training.

    Args:
        height_factor: f shifts within [-f, f] * height; a pair (lo, hi) within [lo, hi] * height.
        width_factor: the same for the width.
        fill_mode, interpolation, seed, fill_value, data_format: as in `RandomRotation`.
    """

    _kind = "translation"

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_lower, self.height_upper = _range_pair("RandomTranslation", height_factor, "height_factor")
        self.width_lower, self.width_upper = _range_pair("RandomTranslation", width_factor, "width_factor")

    def _ranges(self) -> dict:
        return {"lower": float(self.height_lower), "upper": float(self.height_upper),
                "width_lower": float(self.width_lower), "width_upper": float(self.width_upper)}

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomShear(_AffineLayer):
    """Shears each image along x and y by random factors (one random sign per image) while training.

    Args:
        x_factor: f in [0, 1] gives x shears in [-f, f]; a pair (lo, hi) in [lo, hi].
        y_factor: the same for y.
        interpolation, fill_mode, fill_value, data_format, seed: as in `RandomRotation`.
    """

    _kind = "shear"

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 data_format=None, seed=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.x_factor = self._factor(x_factor, "x_factor")
        self.y_factor = self._factor(y_factor, "y_factor")

    @staticmethod
    def _factor(factor, name: str) -> tuple:
        values = list(factor) if isinstance(factor, (tuple, list)) else [factor]
        low = -1.0 if len(values) == 2 else 0.0
        if len(values) not in (1, 2) or not all(isinstance(v, (int, float)) and low <= v <= 1.0 for v in values):
            raise ValueError(f"The `{name}` argument should be a number in [0, 1] or a list of two numbers in "
                             f"[-1, 1]. Received: {name}={factor}")
        return tuple(sorted(values)) if len(values) == 2 else (-abs(values[0]), abs(values[0]))

    def _ranges(self) -> dict:
        return {"lower": float(self.x_factor[0]), "upper": float(self.x_factor[1]),
                "width_lower": float(self.y_factor[0]), "width_upper": float(self.y_factor[1])}

    def get_config(self) -> dict:
        return {**super().get_config(), "x_factor": self.x_factor, "y_factor": self.y_factor}


class RandomContrast(RandomImageLayer):
    """Scales each image's deviation from its per-channel mean by a random factor in [1 - lo, 1 + hi] while
    training, then clips to `value_range`.

    Args:
        factor: a number in [0, 1] (the range is [1, 1 + f], as Keras computes it) or a pair (lo, hi).
        value_range: the (min, max) of the pixel values.
        seed: an int making the factors reproducible.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = bounded_pair(factor, "factor", (0, 1))
        self.value_range = value_range

    def _augment(self, images):
        factor = ops.cast(self._uniform(images, (1, 1, 1), 1.0 - self.factor[0], 1.0 + self.factor[1]),
                          images.dtype)
        rows, cols = self._spatial_axes()
        mean = ops.mean(ops.mean(images, axis=rows, keepdims=True), axis=cols, keepdims=True)
        out = ops.add(ops.multiply(ops.subtract(images, mean), factor), mean)
        return ops.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


class RandomBrightness(RandomImageLayer):
    """Adds a random offset, a fraction in [lo, hi] of the value range, to each image while training, then clips.

    Args:
        factor: f gives [-f, f]; a pair (lo, hi) in [-1, 1].
        value_range: the (min, max) of the pixel values.
        seed: an int making the offsets reproducible.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = bounded_pair(factor, "factor", (-1, 1))
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise ValueError(f"The `value_range` argument should be a list of two numbers. Received: "
                             f"value_range={value_range}")
        self.value_range = sorted(value_range)

    def _augment(self, images):
        span = self.value_range[1] - self.value_range[0]
        delta = self._uniform(images, (1, 1, 1), self.factor[0] * span, self.factor[1] * span)
        return ops.clip(ops.add(images, ops.cast(delta, images.dtype)), self.value_range[0], self.value_range[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


class RandomCrop(RandomImageLayer):
    """Crops a random (height, width) window, the same for the whole batch, while training; from images not larger
    than that it crops the central window of the target aspect ratio and resizes it. Keras 3 leaves images as
    they are in inference, and so does kgraph.

    Args:
        height, width: the output size.
        seed: an int making the crops reproducible.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(seed=seed if seed is not None else kg_random.next_seed(), data_format=data_format,
                         name=name, **kwargs)
        self.height, self.width = height, width

    def _size(self, images) -> tuple[int, int]:
        rows, cols = (a - (4 - len(images.shape)) for a in self._spatial_axes())
        height, width = images.shape[rows], images.shape[cols]
        if height is None or width is None:
            raise ValueError(f"RandomCrop requires the input to have a fully defined height and width. Received: "
                             f"images.shape={tuple(images.shape)}")
        return height, width

    def _center_crop_resized(self, images):
        """Keras' path for images not larger than the target: a window from the offsets of the centered crop of
        the target's aspect ratio, `height` x `width` long (cut at the image's edge), resized to the target."""
        height, width = self._size(images)
        crop_height = max(min(height, int(float(width * self.height) / self.width)), 1)
        crop_width = max(min(width, int(float(height * self.width) / self.height)), 1)
        top, left = int(float(height - crop_height) / 2), int(float(width - crop_width) / 2)
        kept_height, kept_width = min(self.height, height - top), min(self.width, width - left)
        out = ops.image.crop_images(images, top, left, target_height=kept_height, target_width=kept_width,
                                    data_format=self.data_format)
        if (kept_height, kept_width) != (self.height, self.width):
            out = ops.image.resize(out, (self.height, self.width), data_format=self.data_format)
        return out

    def _augment(self, images):
        height, width = self._size(images)
        if height <= self.height or width <= self.width:
            return self._center_crop_resized(images)
        return apply("random_crop_images", images, self._key(), height=self.height, width=self.width,
                     data_format=self.data_format, seed=self._seed_offset)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        rows, cols = (a - (4 - len(shape)) for a in self._spatial_axes())
        shape[rows], shape[cols] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "height": self.height, "width": self.width,
                "seed": self.seed}
