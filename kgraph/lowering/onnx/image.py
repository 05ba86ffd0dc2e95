"""ONNX rules for image ops: Slice for the crop, then Resize with half-pixel centers as jax.image.resize uses.

jax.image.resize drops the bilinear taps that fall outside the image and renormalizes the rest, which is the
clamping ONNX does; its nearest pixel is floor(x + 0.5) of the half-pixel source coordinate, which is ONNX's
`round_prefer_ceil`. (Bicubic is left out: ONNX Runtime moves a Transpose through Resize and then refuses a
channels-last cubic downscale.)
"""

import numpy as np

from kgraph.ir.shapes import normalize_axis
from kgraph.lowering.onnx.registry import onnx_rule

_MODES = {
    "bilinear": {"mode": "linear"},
    "nearest": {"mode": "nearest", "nearest_mode": "round_prefer_ceil"},
}


@onnx_rule("resize")
def _resize(ctx, x, size, axes, interpolation, crop):
    x_type, out_type = ctx.in_types[0], ctx.out_types[0]
    axes = [normalize_axis(a, x_type.rank, "resize") for a in axes]
    cropped = list(x_type.shape)
    if crop is not None:
        top, left, height, width = crop
        if (top, left, height, width) != (0, 0, x_type.shape[axes[0]], x_type.shape[axes[1]]):
            x = ctx.op("Slice", x, ctx.const([top, left], "int64"), ctx.const([top + height, left + width], "int64"),
                       ctx.axes(axes))
        cropped[axes[0]], cropped[axes[1]] = height, width
    if tuple(cropped) == out_type.shape:
        return x
    if out_type.is_static:
        sizes = ctx.const(list(out_type.shape), "int64")
    else:
        resized = np.zeros(out_type.rank, dtype=bool)
        resized[axes] = True
        target = np.zeros(out_type.rank, dtype=np.int64)
        target[axes] = size
        sizes = ctx.op("Where", ctx.const(resized), ctx.const(target), ctx.op("Shape", x))
    return ctx.op("Resize", x, "", "", sizes, coordinate_transformation_mode="half_pixel", **_MODES[interpolation])

