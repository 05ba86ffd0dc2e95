"""Image ops of `keras.ops.image` built from convolutions: `sobel_edges`, `ssim` and `extract_patches_3d`."""

from __future__ import annotations

import numpy as np

from kgraph import config
from kgraph.ir.types import is_float
from kgraph.ops import numpy as knp
from kgraph.ops.array import _tensor, stack
from kgraph.ops.convolution import conv, depthwise_conv
from kgraph.ops.dispatch import dtype_of

__all__ = ["extract_patches_3d", "sobel_edges", "ssim"]

_SOBEL_Y = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], "float64")


def _format(data_format) -> str:
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


def sobel_edges(images, data_format=None):
    """The vertical and horizontal Sobel gradients of each channel ("same" padding), stacked last as [dy, dx]:
    (batch, height, width, channels, 2), or (batch, channels, height, width, 2) channels first."""
    images = _tensor(images)
    data_format = _format(data_format)
    if knp.ndim(images) != 4:
        raise ValueError(f"sobel_edges needs a batch of images (rank 4), got shape {knp.shape(images)}")
    channels = knp.shape(images)[-1 if data_format == "channels_last" else 1]
    edges = []
    for kernel in (_SOBEL_Y, _SOBEL_Y.T):
        tiled = np.tile(kernel[:, :, None, None], (1, 1, channels, 1)).astype(dtype_of(images))
        edges.append(depthwise_conv(images, tiled, strides=1, padding="same", data_format=data_format))
    return stack(edges, axis=-1)


def _gaussian(size: int, sigma: float) -> np.ndarray:
    x = np.arange(size, dtype="float64") - (size - 1) / 2.0
    kernel = np.exp(-(x ** 2) / (2.0 * sigma ** 2))
    kernel = kernel / kernel.sum()
    return np.outer(kernel, kernel)


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03, data_format=None):
    """The structural similarity of two images (or batches), averaged over positions ("valid" Gaussian windows of
    `filter_size`) and channels: one value per image, 1 for identical images."""
    image1, image2 = _tensor(image1), _tensor(image2)
    data_format = _format(data_format)
    original = dtype_of(image1)
    dtype = original if is_float(original) else "float32"
    image1, image2 = knp.cast(image1, dtype), knp.cast(image2, dtype)
    for name, image in (("image1", image1), ("image2", image2)):
        if knp.ndim(image) not in (3, 4):
            raise ValueError(f"Invalid {name} rank: expected rank 3 (single image) or rank 4 (batch of images). "
                             f"Received input with shape: {name}.shape={knp.shape(image)}")
    unbatched = knp.ndim(image1) == 3
    if unbatched:
        image1, image2 = knp.expand_dims(image1, 0), knp.expand_dims(image2, 0)
    if data_format == "channels_last":
        image1, image2 = knp.transpose(image1, (0, 3, 1, 2)), knp.transpose(image2, (0, 3, 1, 2))
    _, channels, height, width = knp.shape(image1)
    image1, image2 = (knp.reshape(x, (-1, height, width, 1)) for x in (image1, image2))
    kernel = _gaussian(filter_size, filter_sigma).reshape(filter_size, filter_size, 1, 1).astype(dtype)

    def blur(x):
        return conv(x, kernel, strides=1, padding="valid", data_format="channels_last")

    mu1, mu2 = blur(image1), blur(image2)
    mu1_sq, mu2_sq, mu1_mu2 = knp.multiply(mu1, mu1), knp.multiply(mu2, mu2), knp.multiply(mu1, mu2)
    sigma1_sq = knp.subtract(blur(knp.multiply(image1, image1)), mu1_sq)
    sigma2_sq = knp.subtract(blur(knp.multiply(image2, image2)), mu2_sq)
    sigma12 = knp.subtract(blur(knp.multiply(image1, image2)), mu1_mu2)
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    numerator = knp.multiply(knp.add(knp.multiply(mu1_mu2, 2.0), c1), knp.add(knp.multiply(sigma12, 2.0), c2))
    denominator = knp.multiply(knp.add(knp.add(mu1_sq, mu2_sq), c1), knp.add(knp.add(sigma1_sq, sigma2_sq), c2))
    per_channel = knp.mean(knp.divide(numerator, denominator), axis=(1, 2, 3))
    result = knp.mean(knp.reshape(per_channel, (-1, channels)), axis=-1)
    result = knp.squeeze(result, 0) if unbatched else result
    return knp.cast(result, original)


def _triple(value, name: str) -> tuple:
    values = (value,) * 3 if isinstance(value, int) else tuple(value)
    if len(values) != 3:
        raise ValueError(f"Invalid `{name}` argument. Expected an int or a tuple of length 3. Received: "
                         f"{name}={value}")
    return values


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Patches of `size` (an int or (depth, height, width)) every `strides` voxels, flattened into the channels
    axis as (patch_depth, patch_row, patch_col, channel), through a convolution with an identity kernel as Keras
    computes them. Volumes are (batch,) depth, height, width, channels (channels first with `data_format`)."""
    volumes = _tensor(volumes)
    data_format = _format(data_format)
    if knp.ndim(volumes) not in (4, 5):
        raise ValueError(f"extract_patches_3d needs volumes of rank 4 (one volume) or 5 (a batch), got shape "
                         f"{knp.shape(volumes)}")
    size = _triple(size, "size")
    strides = size if strides is None else _triple(strides, "strides")
    channels = knp.shape(volumes)[-1 if data_format == "channels_last" else -4]
    out_dim = int(np.prod(size)) * channels
    kernel = np.eye(out_dim, dtype=dtype_of(volumes)).reshape(*size, channels, out_dim)
    unbatched = knp.ndim(volumes) == 4
    volumes = knp.expand_dims(volumes, 0) if unbatched else volumes
    patches = conv(volumes, kernel, strides=strides, padding=padding, data_format=data_format,
                   dilation_rate=dilation_rate)
    return knp.squeeze(patches, 0) if unbatched else patches
