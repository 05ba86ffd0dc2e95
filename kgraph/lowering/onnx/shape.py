"""ONNX rules for data-movement ops. The IR's reshape already uses ONNX's 0 (copy) and -1 (infer)."""

from kgraph.ir.shapes import normalize_axes, normalize_axis
from kgraph.lowering.onnx.registry import onnx_rule


@onnx_rule("reshape")
def _reshape(ctx, x, shape):
    return ctx.op("Reshape", x, ctx.const(list(shape), "int64"))


@onnx_rule("transpose")
def _transpose(ctx, x, perm):
    return ctx.op("Transpose", x, perm=list(perm))


@onnx_rule("expand_dims")
def _expand_dims(ctx, x, axis):
    return ctx.unsqueeze(x, [normalize_axis(axis, ctx.in_types[0].rank + 1, "expand_dims")])


@onnx_rule("squeeze")
def _squeeze(ctx, x, axis):
    """Squeezes the axes the IR typed away: the named ones, or every static size-1 dim when axis is None."""
    x_type = ctx.in_types[0]
    if axis is None:
        axes = tuple(i for i, d in enumerate(x_type.shape) if d == 1)
    else:
        axes = normalize_axes(axis, x_type.rank, "squeeze")
    return ctx.squeeze(x, axes) if axes else x


@onnx_rule("concatenate")
def _concatenate(ctx, *xs, axis):
    if len(xs) == 1:
        return xs[0]
    return ctx.op("Concat", *xs, axis=normalize_axis(axis, ctx.in_types[0].rank, "concatenate"))
