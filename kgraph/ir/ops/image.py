"""Image ops: resize (after an optional crop) over two spatial axes."""

from __future__ import annotations

from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.shapes import normalize_axis
from kgraph.ir.traits import LAYOUT_TRANSPARENT
from kgraph.ir.types import TensorType, is_float

INTERPOLATIONS = ("bilinear", "nearest")


def _resize(types, size, axes, interpolation, crop):
    (x,) = types
    if interpolation not in INTERPOLATIONS:
        raise ShapeError(f"resize: interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    if len(axes) != 2 or len({normalize_axis(a, x.rank, "resize") for a in axes}) != 2:
        raise ShapeError(f"resize needs two distinct axes of a tensor of shape {x.shape}, got axes={tuple(axes)}")
    if len(size) != 2 or any(not isinstance(s, int) or s <= 0 for s in size):
        raise ShapeError(f"resize needs a size of two positive ints, got {tuple(size)}")
    axes = tuple(normalize_axis(a, x.rank, "resize") for a in axes)
    if crop is not None:
        top, left, height, width = crop
        for axis, start, extent in ((axes[0], top, height), (axes[1], left, width)):
            dim = x.shape[axis]
            if not isinstance(dim, int) or start < 0 or extent <= 0 or start + extent > dim:
                raise ShapeError(f"resize: crop {tuple(crop)} does not fit axis {axis} of shape {x.shape}")
    shape = list(x.shape)
    cropped = (crop[2], crop[3]) if crop is not None else (shape[axes[0]], shape[axes[1]])
    if tuple(size) != cropped and not is_float(x.dtype):
        raise ShapeError(f"resize needs a floating-point input unless it only crops, got {x}")
    shape[axes[0]], shape[axes[1]] = size
    return [TensorType(x.dtype, tuple(shape))]


register("resize", _resize, attrs={"size": REQUIRED, "axes": REQUIRED, "interpolation": "bilinear", "crop": None},
         num_inputs=1, traits=(LAYOUT_TRANSPARENT,), axes="axes", doc="crop the box (top, left, height, width) of the two axes, if given, then resize it to size; "
                           "half-pixel centers, no antialiasing")
