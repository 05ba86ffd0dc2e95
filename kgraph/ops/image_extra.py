"""More image ops of `keras.ops.image`: color space conversions, padding and patch extraction.

Images are (batch,) height, width, channels, or channels first with `data_format="channels_first"`.
"""

from __future__ import annotations

import builtins

import numpy as np

from kgraph.ir.types import is_float
from kgraph.ops import numpy as knp
from kgraph.ops.array import _tensor, pad, split, stack, take
from kgraph.ops.dispatch import dtype_of
from kgraph import config
from kgraph.ops.convolution import depthwise_conv
from kgraph.ops.dispatch import is_symbolic, unwrap

__all__ = ["extract_patches", "gaussian_blur", "hsv_to_rgb", "pad_images", "rgb_to_grayscale", "rgb_to_hsv"]


def _channels_axis(images, data_format, op: str) -> int:
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{op}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    if knp.ndim(images) not in (3, 4):
        raise ValueError(f"{op} needs images of rank 3 (one image) or 4 (a batch), got shape {knp.shape(images)}")
    return -1 if data_format == "channels_last" else -3


def _float_images(images, op: str):
    images = _tensor(images)
    if not is_float(dtype_of(images)):
        raise ValueError(f"{op} needs float images, got dtype {dtype_of(images)}")
    return images


def rgb_to_grayscale(images, data_format=None):
    """Luma (0.2989 R + 0.5870 G + 0.1140 B), keeping a channels axis of size 1."""
    images = _tensor(images)
    axis = _channels_axis(images, data_format, "rgb_to_grayscale")
    weights = np.array([0.2989, 0.5870, 0.1140]).astype(dtype_of(images))
    shape = [1] * knp.ndim(images)
    shape[axis] = 3
    return knp.sum(knp.multiply(images, weights.reshape(shape)), axis=axis, keepdims=True)


def rgb_to_hsv(images, data_format=None):
    """RGB in [0, 1] to hue, saturation, value in [0, 1]."""
    images = _float_images(images, "rgb_to_hsv")
    axis = _channels_axis(images, data_format, "rgb_to_hsv")
    eps = float(np.finfo(np.dtype("float32" if dtype_of(images) == "bfloat16" else dtype_of(images))).eps)
    images = knp.where(knp.less(knp.abs(images), eps), 0.0, images)
    r, g, b = (knp.squeeze(c, axis) for c in split(images, 3, axis=axis))
    value = knp.maximum(knp.maximum(r, g), b)
    range_ = knp.subtract(value, knp.minimum(knp.minimum(r, g), b))
    safe_value = knp.where(knp.greater(value, 0), value, 1.0)
    safe_range = knp.where(knp.greater(range_, 0), range_, 1.0)
    saturation = knp.where(knp.greater(value, 0), knp.divide(range_, safe_value), 0.0)
    norm = knp.divide(1.0, knp.multiply(safe_range, 6.0))
    hue = knp.where(knp.equal(value, g), knp.add(knp.multiply(norm, knp.subtract(b, r)), 2.0 / 6.0),
                    knp.add(knp.multiply(norm, knp.subtract(r, g)), 4.0 / 6.0))
    hue = knp.where(knp.equal(value, r), knp.multiply(norm, knp.subtract(g, b)), hue)
    hue = knp.add(knp.where(knp.greater(range_, 0), hue, 0.0), knp.cast(knp.less(hue, 0.0), dtype_of(hue)))
    return stack([hue, saturation, value], axis=axis)


def hsv_to_rgb(images, data_format=None):
    """Hue, saturation, value in [0, 1] to RGB."""
    images = _float_images(images, "hsv_to_rgb")
    axis = _channels_axis(images, data_format, "hsv_to_rgb")
    hue, saturation, value = (knp.squeeze(c, axis) for c in split(images, 3, axis=axis))
    dh = knp.multiply(knp.mod(hue, 1.0), 6.0)
    dr = knp.clip(knp.subtract(knp.abs(knp.subtract(dh, 3.0)), 1.0), 0.0, 1.0)
    dg = knp.clip(knp.subtract(2.0, knp.abs(knp.subtract(dh, 2.0))), 0.0, 1.0)
    db = knp.clip(knp.subtract(2.0, knp.abs(knp.subtract(dh, 4.0))), 0.0, 1.0)
    one_minus_s = knp.subtract(1.0, saturation)
    planes = [knp.multiply(value, knp.add(one_minus_s, knp.multiply(saturation, d))) for d in (dr, dg, db)]
    return stack(planes, axis=axis)


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None, right_padding=None,
               target_height=None, target_width=None, data_format=None):
    """Zero-pads images to a box given, per axis, by two of (top, bottom, target height) and of
    (left, right, target width)."""
    images = _tensor(images)
    axis = _channels_axis(images, data_format, "pad_images")
    height, width = knp.shape(images)[-3:-1] if axis == -1 else knp.shape(images)[-2:]
    top, bottom = _extent(height, top_padding, bottom_padding, target_height, "top", "bottom", "height")
    left, right = _extent(width, left_padding, right_padding, target_width, "left", "right", "width")
    widths = [(top, bottom), (left, right)]
    widths = widths + [(0, 0)] if axis == -1 else [(0, 0)] + widths
    if knp.ndim(images) == 4:
        widths = [(0, 0)] + widths
    return pad(images, widths)


def _extent(dim, before, after, target, before_name: str, after_name: str, extent_name: str):
    given = {f"{before_name}_padding": before, f"{after_name}_padding": after, f"target_{extent_name}": target}
    if builtins.sum(v is not None for v in given.values()) != 2:
        raise ValueError(f"pad_images needs exactly two of {', '.join(given)}, got {given}")
    if dim is None:
        raise ValueError(f"pad_images needs images of known {extent_name}")
    before = target - after - dim if before is None else before
    after = target - before - dim if after is None else after
    if before < 0 or after < 0:
        raise ValueError(f"pad_images: {given} does not fit an image {extent_name} of {dim}")
    return int(before), int(after)


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Patches of `size` (an int or (height, width)) every `strides` pixels, flattened into the channels axis
    as (patch_row, patch_col, channel): (batch,) out_height, out_width, size_h * size_w * channels."""
    images = _tensor(images)
    axis = _channels_axis(images, data_format, "extract_patches")
    unbatched = knp.ndim(images) == 3
    if unbatched:
        images = knp.expand_dims(images, 0)
    if axis == -3:
        images = knp.transpose(images, (0, 2, 3, 1))
    kh, kw = (size, size) if isinstance(size, int) else tuple(size)
    sh, sw = (kh, kw) if strides is None else ((strides, strides) if isinstance(strides, int) else tuple(strides))
    dh, dw = (dilation_rate, dilation_rate) if isinstance(dilation_rate, int) else tuple(dilation_rate)
    _, height, width, channels = knp.shape(images)
    if padding == "same":
        out_h, out_w = -(-height // sh), -(-width // sw)
        pad_h = builtins.max((out_h - 1) * sh + (kh - 1) * dh + 1 - height, 0)
        pad_w = builtins.max((out_w - 1) * sw + (kw - 1) * dw + 1 - width, 0)
        images = pad(images, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
        height, width = height + pad_h, width + pad_w
    elif padding != "valid":
        raise ValueError(f"extract_patches: padding must be 'valid' or 'same', got {padding!r}")
    out_h = (height - (kh - 1) * dh - 1) // sh + 1
    out_w = (width - (kw - 1) * dw - 1) // sw + 1
    rows = (np.arange(out_h) * sh)[:, None, None, None] + (np.arange(kh) * dh)[None, None, :, None]
    cols = (np.arange(out_w) * sw)[None, :, None, None] + (np.arange(kw) * dw)[None, None, None, :]
    index = (rows * width + cols).astype(np.int32)
    flat = knp.reshape(images, (None, height * width, channels))
    patches = take(flat, index, axis=1)
    patches = knp.reshape(patches, (None, out_h, out_w, kh * kw * channels))
    if axis == -3:
        patches = knp.transpose(patches, (0, 3, 1, 2))
    return knp.squeeze(patches, 0) if unbatched else patches


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Blurs each channel with a normalized Gaussian kernel (static sizes and sigmas), "same" padding."""
    images = _float_images(images, "gaussian_blur")
    axis = _channels_axis(images, data_format, "gaussian_blur")
    if is_symbolic(unwrap(sigma)):
        raise ValueError("gaussian_blur needs static sigma values (Python floats)")
    sizes = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(int(k) for k in kernel_size)
    sigmas = np.broadcast_to(np.asarray(unwrap(sigma), dtype=np.float64), (2,))

    def kernel1d(size, s):
        x = np.arange(size) - (size - 1) / 2
        k = np.exp(-0.5 * (x / s) ** 2)
        return k / k.sum()

    kernel = np.outer(kernel1d(sizes[1], sigmas[1]), kernel1d(sizes[0], sigmas[0]))
    channels = knp.shape(images)[axis]
    kernel = np.tile(kernel[:, :, None, None], (1, 1, channels, 1)).astype(dtype_of(images))
    unbatched = knp.ndim(images) == 3
    if unbatched:
        images = knp.expand_dims(images, 0)
    blurred = depthwise_conv(images, kernel, strides=1, padding="same",
                             data_format="channels_last" if axis == -1 else "channels_first")
    return knp.squeeze(blurred, 0) if unbatched else blurred
