"""Image resampling ops of `keras.ops.image`: `map_coordinates`, `affine_transform`, `perspective_transform`
and `scale_and_translate`.

The first three are built from gathers and elementwise ops, following `jax.scipy.ndimage.map_coordinates` (orders
0 and 1; fill modes constant, nearest, wrap, mirror and reflect); `scale_and_translate` from one matrix product per
axis. All run on XLA and export to ONNX alike.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from kgraph import config
from kgraph.ir.types import is_float
from kgraph.ops import numpy as knp
from kgraph.ops.array import _tensor, concatenate, stack, take, take_along_axis
from kgraph.ops.dispatch import dtype_of, is_symbolic, unwrap
from kgraph.ops.linalg import solve
from kgraph.ops.numpy_extra import moveaxis, tensordot

__all__ = ["affine_transform", "map_coordinates", "perspective_transform", "scale_and_translate"]

FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
INTERPOLATIONS = {"nearest": 0, "bilinear": 1}
SCALE_AND_TRANSLATE_METHODS = ("linear", "bilinear", "trilinear", "cubic", "bicubic", "tricubic", "lanczos3",
                               "lanczos5")


def _mirror(index, size: int):
    half = float(size - 1)
    return knp.abs(knp.subtract(knp.mod(knp.add(index, half), 2.0 * half), half))


def _fix_index(index, size: int, mode: str):
    """Where an index outside [0, size) reads from, per fill mode (jax.scipy.ndimage's index fixers); "constant"
    reads the nearest pixel, which `fill_value` then replaces, so that no gather leaves the input."""
    if mode in ("nearest", "constant"):
        return knp.clip(index, 0.0, float(size - 1))
    if mode == "wrap":
        return knp.mod(index, float(size))
    if mode == "mirror":
        return _mirror(index, size)
    if mode == "reflect":
        return knp.floor(knp.divide(knp.subtract(_mirror(knp.add(knp.multiply(index, 2.0), 1.0), 2 * size + 1), 1.0),
                                    2.0))
    raise ValueError(f"Unknown fill mode {mode!r}; expected one of {FILL_MODES}")


def _nodes(coordinate, order: int) -> list:
    """(index, weight) pairs of one axis: the nearest index (halves away from zero), or the two linear ones."""
    if order == 0:
        rounded = knp.multiply(knp.sign(coordinate), knp.floor(knp.add(knp.abs(coordinate), 0.5)))
        return [(rounded, None)]
    lower = knp.floor(coordinate)
    upper_weight = knp.subtract(coordinate, lower)
    return [(lower, knp.subtract(1.0, upper_weight)), (knp.add(lower, 1.0), upper_weight)]


def _interpolate(gather, coordinates: list, sizes: tuple, order: int, mode: str, fill_value: float, dtype: str):
    """Sums, over the interpolation corners, weight * value; `gather(flat_index)` reads the flattened input and
    `coordinates[d]` (floats) index axis d of size `sizes[d]`."""
    strides = [int(np.prod(sizes[d + 1:])) for d in range(len(sizes))]
    per_axis = []
    for coordinate, size in zip(coordinates, sizes):
        nodes = []
        for index, weight in _nodes(knp.cast(coordinate, "float32"), order):
            valid = knp.logical_and(knp.greater_equal(index, 0.0), knp.less(index, float(size))) \
                if mode == "constant" else None
            nodes.append((_fix_index(index, size, mode), valid, weight))
        per_axis.append(nodes)
    result = None
    for corner in itertools.product(*per_axis):
        flat = None
        for (index, _, _), stride in zip(corner, strides):
            term = knp.multiply(index, float(stride))
            flat = term if flat is None else knp.add(flat, term)
        value = gather(knp.cast(flat, "int32"))
        valids = [v for _, v, _ in corner if v is not None]
        if valids:
            valid = valids[0]
            for v in valids[1:]:
                valid = knp.logical_and(valid, v)
            value = knp.where(valid, value, knp.cast(fill_value, dtype))
        weights = [w for _, _, w in corner if w is not None]
        for w in weights:
            value = knp.multiply(value, knp.cast(w, dtype))
        result = value if result is None else knp.add(result, value)
    if not is_float(dtype):
        result = knp.multiply(knp.sign(result), knp.floor(knp.add(knp.abs(result), 0.5)))
    return knp.cast(result, dtype)


def _check(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"Invalid value for argument `{name}`. Expected one of {set(allowed)}. Received: "
                         f"{name}={value}")


def map_coordinates(inputs, coordinates, order: int, fill_mode: str = "constant", fill_value: float = 0.0):
    """Samples `inputs` at `coordinates` (one row of coordinates per axis of `inputs`) by nearest (order 0) or
    linear (order 1) interpolation; points outside are filled by `fill_mode`. The output has the shape of
    `coordinates[0]`. `inputs` needs a static shape."""
    inputs = _tensor(inputs)
    coordinates = _tensor(coordinates)
    shape = knp.shape(inputs)
    if len(knp.shape(coordinates)) < 2 or knp.shape(coordinates)[0] != len(shape):
        raise ValueError(f"First dim of `coordinates` must be the same as the rank of `inputs`, and `coordinates` of "
                         f"rank 2 at least. Received inputs with shape: {shape} and coordinates with shape "
                         f"{knp.shape(coordinates)}")
    if any(d is None for d in shape):
        raise ValueError(f"map_coordinates needs `inputs` of a static shape, got {shape}")
    _check("fill_mode", fill_mode, FILL_MODES)
    _check("order", order, (0, 1))
    flat = knp.reshape(inputs, (-1,))
    rows = [take(coordinates, d, axis=0) for d in range(len(shape))]
    return _interpolate(lambda index: take(flat, index, axis=0), rows, tuple(shape), order, fill_mode,
                        float(fill_value), dtype_of(inputs))


def _batched_images(images, data_format, op: str):
    data_format = data_format or config.image_data_format()
    _check("data_format", data_format, ("channels_last", "channels_first"))
    images = _tensor(images)
    if knp.ndim(images) not in (3, 4):
        raise ValueError(f"Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). "
                         f"Received input with shape: images.shape={knp.shape(images)}")
    single = knp.ndim(images) == 3
    images = knp.expand_dims(images, 0) if single else images
    if data_format == "channels_first":
        images = knp.transpose(images, (0, 2, 3, 1))
    if any(d is None for d in knp.shape(images)[1:]):
        raise ValueError(f"{op} needs images of static height, width and channels, got {knp.shape(images)}")
    return images, single, data_format


def _unbatched(images, single: bool, data_format: str):
    if data_format == "channels_first":
        images = knp.transpose(images, (0, 3, 1, 2))
    return knp.squeeze(images, 0) if single else images


def _sample_images(images, rows, cols, order: int, fill_mode: str, fill_value: float):
    """Samples each channels-last image at per-pixel (row, col) coordinates of shape (batch, h, w, channels)."""
    _, height, width, channels = knp.shape(images)
    flat = knp.reshape(images, (-1, height * width * channels))
    channel = np.arange(channels, dtype="float32").reshape(1, 1, 1, channels)
    out_shape = knp.shape(rows)

    def gather(index):
        picked = take_along_axis(flat, knp.reshape(index, (-1, int(np.prod(out_shape[1:])))), axis=1)
        return knp.reshape(picked, (-1, *out_shape[1:]))

    return _interpolate(gather, [rows, cols, knp.add(knp.zeros_like(rows), channel)], (height, width, channels),
                        order, fill_mode, fill_value, dtype_of(images))


def _grid(height: int, width: int, channels: int):
    rows, cols, chans = np.meshgrid(np.arange(height), np.arange(width), np.arange(channels), indexing="ij")
    return (a.astype("float32")[None] for a in (rows, cols, chans))


def affine_transform(images, transform, interpolation: str = "bilinear", fill_mode: str = "constant",
                     fill_value=0, data_format=None):
    """Applies one projective transform per image: `transform` is (batch, 8) or (8,) = [a0, a1, a2, b0, b1, b2,
    c0, c1], and output pixel (y, x) reads the input at (b0 x + b1 y + b2, a0 x + a1 y + a2), as Keras' JAX
    backend computes it (c0, c1 scale the channel index, as there).

    Args:
        images: (batch,) height, width, channels, or channels first with `data_format="channels_first"`.
        transform: the transforms, one per image or one for all.
        interpolation: "nearest" or "bilinear".
        fill_mode: "constant", "nearest", "wrap", "mirror" or "reflect".
        fill_value: the value outside the image with `fill_mode="constant"`.
        data_format: "channels_last" or "channels_first" (default `kgraph.config.image_data_format()`).
    """
    _check("interpolation", interpolation, INTERPOLATIONS)
    _check("fill_mode", fill_mode, FILL_MODES)
    transform = knp.cast(_tensor(transform), "float32")
    if knp.ndim(transform) not in (1, 2) or knp.shape(transform)[-1] != 8:
        raise ValueError(f"Invalid transform: expected shape (8,) or (batch, 8). Received input with shape: "
                         f"transform.shape={knp.shape(transform)}")
    images, single, data_format = _batched_images(images, data_format, "affine_transform")
    transform = knp.reshape(transform, (-1, 1, 1, 1, 8))
    a0, a1, a2, b0, b1, b2, c0, c1 = (take(transform, i, axis=-1) for i in range(8))
    rows, cols, chans = _grid(*knp.shape(images)[1:])
    y_in = knp.add(knp.add(knp.add(knp.multiply(b0, cols), knp.multiply(b1, rows)), b2), knp.multiply(c0, chans))
    x_in = knp.add(knp.add(knp.add(knp.multiply(a0, cols), knp.multiply(a1, rows)), a2), knp.multiply(c1, chans))
    out = _sample_images(images, y_in, x_in, INTERPOLATIONS[interpolation], fill_mode, float(fill_value))
    return _unbatched(out, single, data_format)


def _homography(start_points, end_points):
    """The 8 coefficients mapping end points to start points (Keras' `compute_homography_matrix`)."""
    start_x, start_y = take(start_points, 0, axis=-1), take(start_points, 1, axis=-1)
    end_x, end_y = take(end_points, 0, axis=-1), take(end_points, 1, axis=-1)
    zeros, ones = knp.zeros_like(end_x), knp.ones_like(end_x)
    x_rows = stack([end_x, end_y, ones, zeros, zeros, zeros, knp.negative(knp.multiply(start_x, end_x)),
                        knp.negative(knp.multiply(start_x, end_y))], axis=-1)
    y_rows = stack([zeros, zeros, zeros, end_x, end_y, ones, knp.negative(knp.multiply(start_y, end_x)),
                        knp.negative(knp.multiply(start_y, end_y))], axis=-1)
    matrix = concatenate([x_rows, y_rows], axis=1)
    target = knp.expand_dims(concatenate([start_x, start_y], axis=-1), -1)
    return knp.squeeze(solve(matrix, target), -1)


def perspective_transform(images, start_points, end_points, interpolation: str = "bilinear", fill_value=0,
                          data_format=None):
    """Warps each image so that its four `start_points` land on `end_points` ((batch,) 4, 2 as (x, y)); points
    from outside the image are `fill_value`.

    Args:
        images: (batch,) height, width, channels, or channels first with `data_format="channels_first"`.
        start_points, end_points: the corners' (x, y) before and after, (4, 2) or (batch, 4, 2).
        interpolation: "nearest" or "bilinear".
        fill_value: the value outside the image.
        data_format: "channels_last" or "channels_first" (default `kgraph.config.image_data_format()`).
    """
    _check("interpolation", interpolation, INTERPOLATIONS)
    start_points, end_points = (knp.cast(_tensor(p), "float32") for p in (start_points, end_points))
    for name, points in (("start_points", start_points), ("end_points", end_points)):
        if knp.ndim(points) not in (2, 3) or tuple(knp.shape(points)[-2:]) != (4, 2):
            raise ValueError(f"Invalid {name} shape: expected (4,2) for a single image or (N,4,2) for a batch. "
                             f"Received shape: {knp.shape(points)}")
    if knp.shape(start_points) != knp.shape(end_points):
        raise ValueError(f"start_points and end_points must have the same shape. Received start_points.shape="
                         f"{knp.shape(start_points)}, end_points.shape={knp.shape(end_points)}")
    if knp.ndim(start_points) == 2:
        start_points, end_points = knp.expand_dims(start_points, 0), knp.expand_dims(end_points, 0)
    images, single, data_format = _batched_images(images, data_format, "perspective_transform")
    coefficients = knp.reshape(_homography(start_points, end_points), (-1, 1, 1, 1, 8))
    t = [take(coefficients, i, axis=-1) for i in range(8)]
    rows, cols, _ = _grid(*knp.shape(images)[1:])
    denominator = knp.add(knp.add(knp.multiply(t[6], cols), knp.multiply(t[7], rows)), 1.0)
    x_in = knp.divide(knp.add(knp.add(knp.multiply(t[0], cols), knp.multiply(t[1], rows)), t[2]), denominator)
    y_in = knp.divide(knp.add(knp.add(knp.multiply(t[3], cols), knp.multiply(t[4], rows)), t[5]), denominator)
    out = _sample_images(images, y_in, x_in, INTERPOLATIONS[interpolation], "constant", float(fill_value))
    return _unbatched(out, single, data_format)


def _axis_weights(in_size: int, out_size: int, scale: float, translation: float, method: str,
                  antialias: bool) -> np.ndarray:
    """The (out_size, in_size) matrix that `jax.image.scale_and_translate` applies along one axis: the op is
    linear and separable, so resampling an identity gives it."""
    identity = jnp.eye(in_size, dtype="float32")
    resampled = jax.image.scale_and_translate(identity, (out_size, in_size), (0,), jnp.array([scale], "float32"),
                                              jnp.array([translation], "float32"), method, antialias)
    return np.asarray(resampled)


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    """Resamples `images` along `spatial_dims` to `output_shape`, scaling by `scale` and shifting by
    `translation` (one per spatial dim) with the `method` kernel, as `jax.image.scale_and_translate` does.
    `scale` and `translation` must be static (numbers or arrays, not symbolic tensors); each axis becomes a matrix
    product, which runs on XLA and exports to ONNX."""
    if method not in SCALE_AND_TRANSLATE_METHODS:
        raise ValueError(f"Invalid value for argument `method`. Expected of one {SCALE_AND_TRANSLATE_METHODS}. "
                         f"Received: method={method}")
    if is_symbolic(unwrap(scale)) or is_symbolic(unwrap(translation)):
        raise ValueError("scale_and_translate needs static `scale` and `translation` (numbers or arrays), got "
                         "symbolic tensors")
    images = _tensor(images)
    shape = knp.shape(images)
    spatial_dims = tuple(int(d) % len(shape) for d in spatial_dims)
    scales = np.broadcast_to(np.asarray(unwrap(scale), "float32"), (len(spatial_dims),))
    translations = np.broadcast_to(np.asarray(unwrap(translation), "float32"), (len(spatial_dims),))
    if len(output_shape) != len(shape):
        raise ValueError(f"scale_and_translate: output_shape {tuple(output_shape)} must have the rank of images "
                         f"{shape}")
    dtype = dtype_of(images)
    out = images if is_float(dtype) else knp.cast(images, "float32")
    for dim, s, t in zip(spatial_dims, scales, translations):
        if shape[dim] is None:
            raise ValueError(f"scale_and_translate needs a known size on spatial dim {dim}, got shape {shape}")
        weights = _axis_weights(shape[dim], int(output_shape[dim]), float(s), float(t), method, antialias)
        moved = tensordot(out, weights.astype(dtype_of(out)), axes=[[dim], [1]])
        out = moveaxis(moved, -1, dim)
    return out
