"""ONNX rules for normalization ops: the native ONNX operator where its layout and opset fit, else the math
composed from elementwise ops and reductions."""

from kgraph.ir.shapes import normalize_axes, normalize_axis
from kgraph.lowering.onnx.builder import OnnxContext
from kgraph.lowering.onnx.registry import onnx_rule

_LAYER_NORMALIZATION_SINCE = 17
# GroupNormalization-18 scaled per group and is deprecated (the ONNX checker rejects it); 21 scales per channel.
_GROUP_NORMALIZATION_SINCE = 21


def _broadcast(ctx: OnnxContext, param: str, axes: tuple[int, ...], rank: int) -> str:
    """Reshapes a parameter laid out along `axes` so it broadcasts against a rank-`rank` input."""
    if axes == tuple(range(rank - len(axes), rank)):
        return param
    shape = [ctx.in_types[0].shape[i] if i in axes else 1 for i in range(axes[0], rank)]
    return ctx.op("Reshape", param, ctx.const(shape, "int64"))


def _normalized(ctx: OnnxContext, x: str, axes: list[int], epsilon: float, dtype: str) -> str:
    """(x - mean) / sqrt(variance + epsilon) over `axes`, kept as broadcastable dims."""
    centered = ctx.op("Sub", x, ctx.reduce("ReduceMean", x, axes, True, dtype))
    variance = ctx.reduce("ReduceMean", ctx.op("Mul", centered, centered), axes, True, dtype)
    return ctx.op("Div", centered, ctx.op("Sqrt", ctx.op("Add", variance, ctx.const(epsilon, dtype))))


def _affine(ctx: OnnxContext, x: str, scale: str, offset: str, axes: tuple[int, ...]) -> str:
    rank = ctx.in_types[0].rank
    return ctx.op("Add", ctx.op("Mul", x, _broadcast(ctx, scale, axes, rank)), _broadcast(ctx, offset, axes, rank))


@onnx_rule("batch_normalization")
def _batch_normalization(ctx, x, mean, variance, scale, offset, axis, epsilon):
    """BatchNormalization when the channels are axis 1; otherwise the folded `x * inv + (offset - mean * inv)`."""
    x_type = ctx.in_types[0]
    axis = normalize_axis(axis, x_type.rank, "batch_normalization")
    if axis == 1 and x_type.rank >= 2:
        return ctx.op("BatchNormalization", x, scale, offset, mean, variance, epsilon=float(epsilon))
    dtype = x_type.dtype
    inv = ctx.op("Mul", ctx.op("Reciprocal", ctx.op("Sqrt", ctx.op("Add", variance, ctx.const(epsilon, dtype)))), scale)
    shift = ctx.op("Sub", offset, ctx.op("Mul", mean, inv))
    return _affine(ctx, x, inv, shift, (axis,))


@onnx_rule("normalize_batch")
def _normalize_batch(ctx, x, scale, offset, axis, epsilon):
    """The batch's statistics by ReduceMean, then the normalization composed from elementwise ops."""
    x_type = ctx.in_types[0]
    axis = normalize_axis(axis, x_type.rank, "normalize_batch")
    axes = [i for i in range(x_type.rank) if i != axis]
    mean = ctx.reduce("ReduceMean", x, axes, True, x_type.dtype)
    centered = ctx.op("Sub", x, mean)
    variance = ctx.reduce("ReduceMean", ctx.op("Mul", centered, centered), axes, True, x_type.dtype)
    normalized = ctx.op("Div", centered, ctx.op("Sqrt", ctx.op("Add", variance, ctx.const(epsilon, x_type.dtype))))
    flat = ctx.const([-1], "int64")
    return (_affine(ctx, normalized, scale, offset, (axis,)), ctx.op("Reshape", mean, flat),
            ctx.op("Reshape", variance, flat))


@onnx_rule("layer_normalization")
def _layer_normalization(ctx, x, scale, offset, axis, epsilon):
    """LayerNormalization (opset 17+) over trailing axes; other axes or opsets get the composed form."""
    x_type = ctx.in_types[0]
    axes = normalize_axes(axis, x_type.rank, "layer_normalization")
    if ctx.opset >= _LAYER_NORMALIZATION_SINCE and axes == tuple(range(axes[0], x_type.rank)):
        return ctx.op("LayerNormalization", x, scale, offset, axis=axes[0], epsilon=float(epsilon))
    return _affine(ctx, _normalized(ctx, x, list(axes), epsilon, x_type.dtype), scale, offset, axes)


@onnx_rule("group_normalization")
def _group_normalization(ctx, x, scale, offset, groups, axis, epsilon):
    """GroupNormalization (opset 21+) when the channels are axis 1 of a rank >= 3 input; otherwise the input is
    reshaped so each group is one axis (`[0, …, 0, groups, -1]`), normalized, reshaped back, scaled and shifted."""
    x_type = ctx.in_types[0]
    axis = normalize_axis(axis, x_type.rank, "group_normalization")
    if axis == 1 and x_type.rank >= 3 and ctx.opset >= _GROUP_NORMALIZATION_SINCE:
        return ctx.op("GroupNormalization", x, scale, offset, num_groups=groups, epsilon=float(epsilon))
    grouped = ctx.op("Reshape", x, ctx.const([0] * axis + [groups, -1], "int64"))
    reduce_axes = [i for i in range(1, axis + 2) if i != axis]
    normalized = _normalized(ctx, grouped, reduce_axes, epsilon, x_type.dtype)
    return _affine(ctx, ctx.op("Reshape", normalized, ctx.op("Shape", x)), scale, offset, (axis,))
