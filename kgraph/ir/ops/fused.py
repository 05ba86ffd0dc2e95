"""Fused ops that export passes form from common patterns, each one native ONNX operator: gemm (matmul + bias),
conv_bias (convolution + per-channel bias), upsample_nearest (repeats along several axes) and attention
(multi-head scaled dot-product attention)."""

from __future__ import annotations

from kgraph.ir.ops.convolution import WINDOW, split_layout
from kgraph.ir.registry import REQUIRED, ShapeError, get_op, register
from kgraph.ir.shapes import broadcast_shapes
from kgraph.ir.traits import LAYOUT_TRANSPARENT
from kgraph.ir.types import Dim, TensorType, is_float


def _gemm(types):
    a, b, c = types
    if a.rank != 2 or b.rank != 2:
        raise ShapeError(f"gemm needs 2-D a and b, got shapes {a.shape} and {b.shape}")
    if len({a.dtype, b.dtype, c.dtype}) != 1 or not is_float(a.dtype):
        raise ShapeError(f"gemm needs floating-point operands of one dtype, got {a.dtype}, {b.dtype}, {c.dtype}")
    if isinstance(a.shape[1], int) and isinstance(b.shape[0], int) and a.shape[1] != b.shape[0]:
        raise ShapeError(f"gemm: contracting dims differ: shapes {a.shape} and {b.shape}")
    out = (a.shape[0], b.shape[1])
    try:
        fits = c.rank <= 2 and broadcast_shapes(out, c.shape) == out
    except ShapeError:
        fits = False
    if not fits:
        raise ShapeError(f"gemm: c of shape {c.shape} does not broadcast to the product's shape {out}")
    return [TensorType(a.dtype, out)]


register("gemm", _gemm, num_inputs=3, doc="a @ b + c for 2-D a and b, c broadcast to the product (ONNX Gemm)")


def _conv_bias(types, **attrs):
    x, kernel, bias = types
    (out,) = get_op("conv").infer_types([x, kernel], attrs)
    channels = split_layout(out.shape, attrs["data_format"])[2]
    if bias.rank != 1 or bias.dtype != x.dtype or bias.shape[0] != channels:
        raise ShapeError(f"conv_bias needs a bias of shape ({channels},) and dtype {x.dtype}, got {bias}")
    return [out]


register("conv_bias", _conv_bias,
         attrs={"strides": REQUIRED, "padding": "valid", "dilation_rate": REQUIRED, "groups": 1,
                "data_format": "channels_last"}, num_inputs=3, traits=WINDOW,
         doc="conv(x, kernel) plus a (filters,) bias on the channel axis (ONNX Conv with its B input)")


def _scaled(dim: Dim, factor: int) -> Dim:
    if isinstance(dim, int):
        return dim * factor
    return dim if factor == 1 else f"{dim}*{factor}"


def _upsample_nearest(types, scales):
    (x,) = types
    if len(scales) != x.rank or any(not isinstance(s, int) or s < 1 for s in scales):
        raise ShapeError(f"upsample_nearest needs a positive int scale per axis of {x.shape}, got {tuple(scales)}")
    return [TensorType(x.dtype, tuple(_scaled(d, s) for d, s in zip(x.shape, scales)))]


register("upsample_nearest", _upsample_nearest, attrs={"scales": REQUIRED}, num_inputs=1,
         traits=(LAYOUT_TRANSPARENT,), per_axis=("scales",),
         doc="each element repeated scales[i] times along axis i, as np.repeat on every axis (ONNX Resize)")


def _attention(types, num_heads, scale):
    q, k, v = types
    if any(t.rank != 3 for t in types) or len({t.dtype for t in types}) != 1 or not is_float(q.dtype):
        raise ShapeError(f"attention needs floating-point (batch, length, heads * dim) inputs of one dtype, got "
                         f"{[str(t) for t in types]}")
    if not isinstance(num_heads, int) or num_heads < 1:
        raise ShapeError(f"attention needs a positive int num_heads, got {num_heads!r}")
    for name, t in (("query", q), ("key", k), ("value", v)):
        if isinstance(t.shape[2], int) and t.shape[2] % num_heads:
            raise ShapeError(f"attention: the {name}'s last dim {t.shape[2]} does not split into {num_heads} heads")
    if isinstance(q.shape[2], int) and isinstance(k.shape[2], int) and q.shape[2] != k.shape[2]:
        raise ShapeError(f"attention: query and key dims differ: {q} and {k}")
    return [TensorType(q.dtype, (q.shape[0], q.shape[1], v.shape[2]))]


register("attention", _attention, attrs={"num_heads": REQUIRED, "scale": REQUIRED}, num_inputs=3,
         doc="multi-head softmax(q·kᵀ·scale)·v, each input (batch, length, heads * dim), heads split from the last "
             "dim (ONNX Attention from opset 23)")
