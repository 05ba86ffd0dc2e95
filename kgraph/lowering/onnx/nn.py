"""ONNX rules for neural-network ops."""

from kgraph.ir.shapes import normalize_axis
from kgraph.lowering.onnx.registry import onnx_rule


@onnx_rule("softmax")
def _softmax(ctx, x, axis):
    return ctx.op("Softmax", x, axis=normalize_axis(axis, ctx.in_types[0].rank, "softmax"))


@onnx_rule("log_softmax")
def _log_softmax(ctx, x, axis):
    return ctx.op("LogSoftmax", x, axis=normalize_axis(axis, ctx.in_types[0].rank, "log_softmax"))


@onnx_rule("one_hot")
def _one_hot(ctx, x, num_classes, axis, dtype):
    """ONNX OneHot with depth and [off, on] values as initializers.

    Negative indices are moved out of range first: ONNX counts them from the end, jax.nn.one_hot gives zeros.
    ONNX Runtime's kernels take int32 indices with an int32 depth or int64 with int64, into float32 values.
    """
    index_dtype = ctx.in_types[0].dtype
    if index_dtype != "int32":
        x = ctx.cast(x, "int64")
        index_dtype = "int64"
    depth = ctx.const(num_classes, index_dtype)
    if not ctx.in_types[0].dtype.startswith("uint"):
        x = ctx.op("Where", ctx.op("Less", x, ctx.const(0, index_dtype)), depth, x)
    rank = ctx.out_types[0].rank
    encoded = ctx.op("OneHot", x, depth, ctx.const([0, 1], "float32"), axis=normalize_axis(axis, rank, "one_hot"))
    out = ctx.out_types[0].dtype
    return encoded if out == "float32" else ctx.cast(encoded, out)
