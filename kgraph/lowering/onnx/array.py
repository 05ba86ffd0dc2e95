"""ONNX rules for array ops: Gather, GatherElements, Slice, Pad, Tile, Expand, Einsum, Split, CumSum.

Where ONNX Runtime's CPU kernel lacks a dtype, the rule computes in a wider one and casts back.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from kgraph.ir.shapes import normalize_axis
from kgraph.lowering.onnx.builder import OnnxContext
from kgraph.lowering.onnx.registry import onnx_rule

_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min
_INDEX_DTYPES = ("int32", "int64")
# The dtypes ONNX Runtime's CPU kernels of Einsum and CumSum take, and where the others are computed.
_ARITHMETIC_DTYPES = ("float32", "float64", "int32", "int64")
_WIDER = {"bool": "int32", "float16": "float32", "bfloat16": "float32", "int8": "int32", "int16": "int32",
          "uint8": "int32", "uint16": "int32", "uint32": "int64", "uint64": "int64"}


def _indices(ctx: OnnxContext, indices: str) -> str:
    return indices if ctx.in_types[1].dtype in _INDEX_DTYPES else ctx.cast(indices, "int64")


@onnx_rule("take")
def _take(ctx, x, indices, axis):
    return ctx.op("Gather", x, _indices(ctx, indices), axis=normalize_axis(axis, ctx.in_types[0].rank, "take"))


@onnx_rule("take_along_axis")
def _take_along_axis(ctx, x, indices, axis):
    a = normalize_axis(axis, ctx.in_types[0].rank, "take_along_axis")
    return ctx.op("GatherElements", x, _indices(ctx, indices), axis=a)


@onnx_rule("slice")
def _slice(ctx, x, starts, stops, steps):
    """One Slice over the axes that are cut; open bounds become the int64 extremes ONNX clamps."""
    axes, begins, ends, strides = [], [], [], []
    for axis, (start, stop, step) in enumerate(zip(starts, stops, steps)):
        if step == 1 and start in (None, 0) and stop is None:
            continue
        axes.append(axis)
        begins.append(start if start is not None else (0 if step > 0 else _INT64_MAX))
        ends.append(stop if stop is not None else (_INT64_MAX if step > 0 else _INT64_MIN))
        strides.append(step)
    if not axes:
        return x
    return ctx.op("Slice", x, *(ctx.const(v, "int64") for v in (begins, ends, axes, strides)))


@onnx_rule("pad")
def _pad(ctx, x, pad_width, mode, constant_value):
    """Pad with pads [begins…, ends…]; 16-bit integers, which ONNX Runtime's Pad lacks, are padded as int32."""
    dtype = ctx.in_types[0].dtype
    wide = "int32" if dtype in ("int16", "uint16") else dtype
    pads = ctx.const([lo for lo, _ in pad_width] + [hi for _, hi in pad_width], "int64")
    value = [ctx.const(constant_value, wide)] if mode == "constant" else []
    padded = ctx.op("Pad", x if wide == dtype else ctx.cast(x, wide), pads, *value, mode=mode)
    return padded if wide == dtype else ctx.cast(padded, dtype)


@onnx_rule("tile")
def _tile(ctx, x, repeats):
    return ctx.op("Tile", x, ctx.const(list(repeats), "int64"))


@onnx_rule("repeat")
def _repeat(ctx, x, repeats, axis):
    """Unsqueeze a new axis after `axis`, Expand it to `repeats`, Reshape the two into one."""
    rank = ctx.in_types[0].rank
    a = normalize_axis(axis, rank, "repeat")
    expand_shape = [1] * (rank + 1)
    expand_shape[a + 1] = repeats
    expanded = ctx.op("Expand", ctx.unsqueeze(x, [a + 1]), ctx.const(expand_shape, "int64"))
    return ctx.op("Reshape", expanded, _scaled_shape(ctx, x, a, repeats))


def _scaled_shape(ctx: OnnxContext, x: str, axis: int, factor: int) -> str:
    """x's shape with dim `axis` times `factor`, as a constant when at most one dim from `axis` on is unknown
    (0 copies an unknown dim before it, -1 infers that one), else computed from Shape(x)."""
    shape = ctx.in_types[0].shape
    unknown = [i for i, d in enumerate(shape) if isinstance(d, str) and i >= axis]
    if len(unknown) > 1:
        factors = [factor if i == axis else 1 for i in range(len(shape))]
        return ctx.op("Mul", ctx.op("Shape", x), ctx.const(factors, "int64"))
    target = [0 if isinstance(d, str) else d for d in shape[:axis]]
    target += [-1 if i in unknown else d * (factor if i == axis else 1) for i, d in enumerate(shape) if i >= axis]
    return ctx.const(target, "int64")


def _widened(ctx: OnnxContext, op_type: str, inputs: Sequence[str], *extra: str, **attrs) -> str:
    """`op_type` on `inputs` of the node's dtype, computed in a wider dtype when ONNX Runtime lacks that one."""
    dtype = ctx.in_types[0].dtype
    if dtype in _ARITHMETIC_DTYPES:
        return ctx.op(op_type, *inputs, *extra, **attrs)
    wide = _WIDER[dtype]
    return ctx.cast(ctx.op(op_type, *(ctx.cast(x, wide) for x in inputs), *extra, **attrs), dtype)


@onnx_rule("einsum")
def _einsum(ctx, *operands, equation):
    return _widened(ctx, "Einsum", operands, equation=equation.replace(" ", ""))


@onnx_rule("broadcast_to")
def _broadcast_to(ctx, x, shape):
    return ctx.op("Expand", x, ctx.const(list(shape), "int64"))


@onnx_rule("split")
def _split(ctx, x, sizes, axis):
    if len(sizes) == 1:
        return x
    a = normalize_axis(axis, ctx.in_types[0].rank, "split")
    return ctx.op("Split", x, ctx.const(list(sizes), "int64"), axis=a, outputs=len(sizes))


@onnx_rule("cumsum")
def _cumsum(ctx, x, axis):
    return _widened(ctx, "CumSum", [x], ctx.const(normalize_axis(axis, ctx.in_types[0].rank, "cumsum"), "int64"))
