"""Image ops: resize and crop over the height and width axes of (batch,) height, width, channels images."""

from __future__ import annotations

import numpy as np

from kgraph.ir.ops.image import INTERPOLATIONS
from kgraph.ir.types import is_float
from kgraph.ops.dispatch import apply, dtype_of
from kgraph.ops import numpy as knp
from kgraph.ops.image_extra import extract_patches, gaussian_blur, hsv_to_rgb, pad_images, rgb_to_grayscale, rgb_to_hsv
from kgraph.ops.image_filters import extract_patches_3d, sobel_edges, ssim
from kgraph.ops.image_sampling import (
    affine_transform, map_coordinates, perspective_transform, scale_and_translate,
)
from kgraph.ops.numpy import _float, cast, clip, ndim, shape
from kgraph import config

__all__ = [
    "affine_transform", "crop_images", "extract_patches", "extract_patches_3d", "gaussian_blur", "hsv_to_rgb",
    "map_coordinates", "pad_images", "perspective_transform", "resize", "rgb_to_grayscale", "rgb_to_hsv",
    "scale_and_translate", "sobel_edges", "ssim",
]


def _spatial_axes(images, data_format: str | None, op: str) -> tuple[int, int]:
    """The (height, width) axes of rank-3 or rank-4 images, counted from the end."""
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{op}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    if ndim(images) not in (3, 4):
        raise ValueError(f"{op} needs images of rank 3 (one image) or 4 (a batch), got shape {shape(images)}")
    return (-3, -2) if data_format == "channels_last" else (-2, -1)


def _static_size(images, axes, op: str) -> tuple[int, int]:
    height, width = (shape(images)[a] for a in axes)
    if height is None or width is None:
        raise ValueError(f"{op} needs images of known height and width, got shape {shape(images)}")
    return height, width


def resize(images, size, interpolation: str = "bilinear", antialias: bool = False, crop_to_aspect_ratio: bool = False,
           data_format: str | None = None):
    """Resizes images to `size` = (height, width) with half-pixel centers, as `jax.image.resize` does.

    Integer images come back rounded and saturated to their own dtype, as in Keras.

    Args:
        images: (batch, height, width, channels) or (height, width, channels) (channels first with data_format).
        size: the output (height, width).
        interpolation: "bilinear" or "nearest".
        antialias: must be False; antialiased downsampling is not supported.
        crop_to_aspect_ratio: first center-crop the largest window with the target's aspect ratio.
        data_format: "channels_last" or "channels_first" (default `kgraph.config.image_data_format()`).
    """
    axes = _spatial_axes(images, data_format, "resize")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"resize: interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    if antialias:
        raise ValueError("resize: antialias=True is not supported; pass antialias=False")
    if len(size) != 2 or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in size):
        raise ValueError(f"resize: size must be two positive ints (height, width), got {size!r}")
    target_height, target_width = size
    crop = None
    if crop_to_aspect_ratio:
        height, width = _static_size(images, axes, "resize with crop_to_aspect_ratio")
        crop_height = max(min(height, int(width * target_height / target_width)), 1)
        crop_width = max(min(width, int(height * target_width / target_height)), 1)
        crop = ((height - crop_height) // 2, (width - crop_width) // 2, crop_height, crop_width)
    resized = apply("resize", _float(images), size=(target_height, target_width), axes=axes,
                    interpolation=interpolation, crop=crop)
    dtype = dtype_of(images)
    if is_float(dtype):
        return resized
    limits = np.iinfo(dtype)
    return cast(clip(knp.round(resized), float(limits.min), float(limits.max)), dtype)


def crop_images(images, top_cropping: int | None = None, left_cropping: int | None = None,
                bottom_cropping: int | None = None, right_cropping: int | None = None,
                target_height: int | None = None, target_width: int | None = None, data_format: str | None = None):
    """Crops images to a box given, per axis, by two of (top, bottom, target height) and of (left, right, width).

    Args:
        images: (batch, height, width, channels) or (height, width, channels) (channels first with data_format).
        top_cropping, bottom_cropping, target_height: rows removed above and below, and rows kept.
        left_cropping, right_cropping, target_width: columns removed left and right, and columns kept.
        data_format: "channels_last" or "channels_first" (default `kgraph.config.image_data_format()`).
    """
    axes = _spatial_axes(images, data_format, "crop_images")
    height, width = _static_size(images, axes, "crop_images")
    top, target_height = _crop_extent(height, top_cropping, bottom_cropping, target_height, "top", "bottom", "height")
    left, target_width = _crop_extent(width, left_cropping, right_cropping, target_width, "left", "right", "width")
    return apply("resize", images, size=(target_height, target_width), axes=axes,
                 crop=(top, left, target_height, target_width))


def _crop_extent(dim: int, start, end, extent, start_name: str, end_name: str, extent_name: str):
    given = {f"{start_name}_cropping": start, f"{end_name}_cropping": end, f"target_{extent_name}": extent}
    if sum(v is not None for v in given.values()) != 2:
        raise ValueError(f"crop_images needs exactly two of {', '.join(given)}, got {given}")
    start = dim - extent - end if start is None else start
    extent = dim - start - end if extent is None else extent
    if start < 0 or extent <= 0 or start + extent > dim:
        raise ValueError(f"crop_images: {given} does not fit an image {extent_name} of {dim}")
    return start, extent
