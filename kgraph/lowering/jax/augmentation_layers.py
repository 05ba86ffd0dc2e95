"""JAX rules for the augmentation layers' random ops, with Keras 3's transform matrices and `affine_transform`."""

import functools
import math

import jax
import jax.numpy as jnp

from kgraph.lowering.jax.registry import jax_rule


@jax_rule("random_uniform_rows")
def _random_uniform_rows(x, key, shape, minval, maxval, dtype, seed):
    return jax.random.uniform(jax.random.fold_in(key, seed), (x.shape[0], *shape), dtype, minval, maxval)


def _rotation_matrix(angle, height: int, width: int):
    """Keras' `_compute_affine_matrix` for a rotation by `angle` degrees about the image center."""
    angle = angle * (math.pi / 180.0)
    cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
    a0, a1 = jnp.cos(angle), -jnp.sin(angle)
    b0, b1 = jnp.sin(angle), jnp.cos(angle)
    a2, b2 = cx - cx * a0 - cy * a1, cy - cx * b0 - cy * b1
    return jnp.stack([a0, a1, a2, b0, b1, b2, jnp.zeros_like(a0), jnp.zeros_like(a0)], axis=1)


def _transforms(key, kind, batch, lower, upper, width_lower, width_upper, height: int, width: int):
    """One flattened 3x3 projective transform (8 numbers, Keras' layout) per image; for "shear", lower/upper
    bound the x shear and width_lower/width_upper the y shear, with one random sign per image as in Keras."""
    key_h, key_w = jax.random.split(key)
    draw = functools.partial(jax.random.uniform, shape=(batch,), dtype="float32")
    zeros, ones = jnp.zeros((batch,)), jnp.ones((batch,))
    if kind == "rotation":
        return _rotation_matrix(draw(key_h, minval=lower * 360.0, maxval=upper * 360.0), height, width)
    if kind == "shear":
        sign = jnp.where(jax.random.uniform(jax.random.fold_in(key, 1), (batch,)) > 0.5, -1.0, 1.0)
        shear_x = draw(key_w, minval=lower, maxval=upper) * sign
        shear_y = draw(key_h, minval=width_lower, maxval=width_upper) * sign
        return jnp.stack([ones, shear_x, zeros, shear_y, ones, zeros, zeros, zeros], axis=1)
    if kind == "zoom":
        zoom_h = draw(key_h, minval=1.0 + lower, maxval=1.0 + upper)
        zoom_w = zoom_h if width_lower is None else draw(key_w, minval=1.0 + width_lower, maxval=1.0 + width_upper)
        x_offset = (width - 1.0) / 2.0 * (1.0 - zoom_w)
        y_offset = (height - 1.0) / 2.0 * (1.0 - zoom_h)
        return jnp.stack([zoom_w, zeros, x_offset, zeros, zoom_h, y_offset, zeros, zeros], axis=1)
    shift_h = draw(key_h, minval=lower, maxval=upper) * height
    shift_w = draw(key_w, minval=width_lower, maxval=width_upper) * width
    return jnp.stack([ones, zeros, -shift_w, zeros, ones, -shift_h, zeros, zeros], axis=1)


def affine_transform(images, transform, interpolation: str, fill_mode: str, fill_value: float):
    """Keras' JAX `affine_transform` for channels-last batches: output pixel (y, x) samples the input at the
    transform of (x, y), through `map_coordinates`."""
    batch, height, width, channels = images.shape
    grid = jnp.stack(jnp.meshgrid(jnp.arange(height), jnp.arange(width), jnp.arange(channels), indexing="ij"), -1)
    a0, a1, a2, b0, b1, b2 = (transform[:, i] for i in range(6))
    matrix = jnp.stack([jnp.stack([b1, a1, jnp.zeros_like(a0)], -1), jnp.stack([b0, a0, jnp.zeros_like(a0)], -1),
                        jnp.broadcast_to(jnp.array([0.0, 0.0, 1.0]), (batch, 3))], axis=1)
    offset = jnp.stack([b2, a2, jnp.zeros_like(a2)], -1)
    coordinates = jnp.einsum("hwcj,bjk->bkhwc", grid.astype(matrix.dtype), matrix)
    coordinates = coordinates + offset[:, :, None, None, None]
    sample = functools.partial(jax.scipy.ndimage.map_coordinates, order=0 if interpolation == "nearest" else 1,
                               mode=fill_mode, cval=fill_value)
    return jax.vmap(lambda image, coords: sample(image, list(coords)))(images, coordinates)


@jax_rule("random_affine_images")
def _random_affine_images(images, key, kind, lower, upper, width_lower, width_upper, fill_mode, interpolation,
                          fill_value, data_format, seed):
    if data_format == "channels_first":
        images = jnp.transpose(images, (0, 2, 3, 1))
    batch, height, width = images.shape[:3]
    transform = _transforms(jax.random.fold_in(key, seed), kind, batch, lower, upper, width_lower, width_upper,
                            height, width)
    out = affine_transform(images, transform, interpolation, fill_mode, fill_value).astype(images.dtype)
    return jnp.transpose(out, (0, 3, 1, 2)) if data_format == "channels_first" else out


@jax_rule("random_crop_images")
def _random_crop_images(images, key, height, width, data_format, seed):
    rows, cols = (1, 2) if data_format == "channels_last" else (2, 3)
    key_h, key_w = jax.random.split(jax.random.fold_in(key, seed))
    top = jax.random.randint(key_h, (), 0, images.shape[rows] - height + 1)
    left = jax.random.randint(key_w, (), 0, images.shape[cols] - width + 1)
    starts, sizes = [0] * 4, list(images.shape)
    starts[rows], starts[cols], sizes[rows], sizes[cols] = top, left, height, width
    return jax.lax.dynamic_slice(images, starts, sizes)


@jax_rule("random_permutation_rows")
def _random_permutation_rows(x, key, seed):
    return jax.random.permutation(jax.random.fold_in(key, seed), x.shape[0]).astype("int32")


@jax_rule("random_beta_rows")
def _random_beta_rows(x, key, lower, upper, dtype, seed):
    key_alpha, key_beta = jax.random.split(jax.random.fold_in(key, seed))
    alpha = jax.random.uniform(key_alpha, (), dtype, lower, upper) if lower != upper else jnp.asarray(lower, dtype)
    return jax.random.beta(key_beta, alpha, alpha, (x.shape[0],), dtype)


@jax_rule("random_gamma_rows")
def _random_gamma_rows(x, key, shape, alpha, dtype, seed):
    return jax.random.gamma(jax.random.fold_in(key, seed), alpha, (x.shape[0], *shape), dtype)
