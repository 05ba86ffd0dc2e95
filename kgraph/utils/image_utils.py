"""Images as files, PIL images and arrays: `load_img`, `img_to_array`, `array_to_img`, `save_img` (PIL)."""

from __future__ import annotations

import io
import pathlib
import warnings

import numpy as np

from kgraph import config


def _pil():
    try:
        from PIL import Image  # optional: Pillow decodes image files
    except ImportError as e:
        raise ImportError("Image utilities need Pillow: `pip install pillow`.") from e
    return Image


_RESAMPLE = {"nearest": 0, "bilinear": 2, "bicubic": 3, "hamming": 5, "box": 4, "lanczos": 1}


def _data_format(data_format) -> str:
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"`data_format` must be 'channels_first' or 'channels_last'. Received: {data_format!r}")
    return data_format


def array_to_img(x, data_format=None, scale: bool = True, dtype=None):
    """A PIL image from a rank-3 array; `scale` maps its range to [0, 255]."""
    image = _pil()
    x = np.asarray(x, dtype=dtype or config.floatx())
    if x.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image). Got array with shape: {x.shape}")
    if _data_format(data_format) == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        if np.max(x) != 0:
            x /= np.max(x)
        x *= 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image.fromarray(x.astype("uint8"), "RGBA" if channels == 4 else "RGB")
    if channels == 1:
        if np.max(x) > 255:
            return image.fromarray(x[:, :, 0].astype("int32"), "I")
        return image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {channels}")


def img_to_array(img, data_format=None, dtype=None) -> np.ndarray:
    """A PIL image as a rank-3 array (a channel axis is added to grayscale images)."""
    x = np.asarray(img, dtype=dtype or config.floatx())
    channels_first = _data_format(data_format) == "channels_first"
    if x.ndim == 3:
        return x.transpose(2, 0, 1) if channels_first else x
    if x.ndim == 2:
        return x.reshape((1, *x.shape) if channels_first else (*x.shape, 1))
    raise ValueError(f"Unsupported image shape: {x.shape}")


def save_img(path, x, data_format=None, file_format=None, scale: bool = True, **kwargs) -> None:
    """Writes the array `x` as an image file; the format comes from the file's suffix by default."""
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("The JPEG format does not support RGBA images, converting to RGB.", stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def load_img(path, color_mode: str = "rgb", target_size=None, interpolation: str = "nearest",
             keep_aspect_ratio: bool = False):
    """Loads an image file (or `io.BytesIO`) as a PIL image.

    Args:
        path: the file's path or a BytesIO.
        color_mode: "grayscale", "rgb" or "rgba".
        target_size: `(height, width)` to resize to, or None.
        interpolation: the resampling method ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos").
        keep_aspect_ratio: crop the center to the target's aspect ratio before resizing.
    """
    image = _pil()
    if isinstance(path, io.BytesIO):
        img = image.open(path)
    elif isinstance(path, (pathlib.Path, bytes, str)):
        with open(path, "rb") as f:
            img = image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    modes = {"grayscale": ("L", ("L", "I;16", "I")), "rgba": ("RGBA", ("RGBA",)), "rgb": ("RGB", ("RGB",))}
    if color_mode not in modes:
        raise ValueError(f'color_mode must be "grayscale", "rgb", or "rgba". Received: color_mode={color_mode!r}')
    target_mode, keep = modes[color_mode]
    if img.mode not in keep:
        img = img.convert(target_mode)
    if target_size is None:
        return img
    size = (target_size[1], target_size[0])
    if img.size == size:
        return img
    if interpolation not in _RESAMPLE:
        raise ValueError(f"Invalid interpolation method {interpolation} specified. Supported methods are "
                         f"{', '.join(_RESAMPLE)}")
    resample = _RESAMPLE[interpolation]
    if not keep_aspect_ratio:
        return img.resize(size, resample)
    width, height = img.size
    crop_height = min(height, (width * size[1]) // size[0])
    crop_width = min(width, (height * size[0]) // size[1])
    top, left = (height - crop_height) // 2, (width - crop_width) // 2
    return img.resize(size, resample, box=[left, top, left + crop_width, top + crop_height])
