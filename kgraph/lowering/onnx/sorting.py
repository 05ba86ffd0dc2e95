"""ONNX rules for sorting ops: TopK over the whole axis for sort and argsort (static axis size)."""

from kgraph.ir.shapes import normalize_axis
from kgraph.lowering.onnx.refusal import refuse, refusing
from kgraph.lowering.onnx.registry import onnx_rule

onnx_rule("cumprod")(refusing("ONNX has CumSum but no running product"))


def _full_top_k(ctx, x, axis):
    rank = ctx.in_types[0].rank
    axis = normalize_axis(axis, rank, ctx.node.op)
    size = ctx.in_types[0].shape[axis]
    if not isinstance(size, int):
        refuse(ctx, f"TopK needs the size of axis {axis} known, got shape {ctx.in_types[0].shape}")
    return ctx.op("TopK", x, ctx.const([size], "int64"), axis=axis, largest=0, sorted=1, outputs=2)


@onnx_rule("sort")
def _sort(ctx, x, axis):
    return _full_top_k(ctx, x, axis)[0]


@onnx_rule("argsort")
def _argsort(ctx, x, axis):
    return ctx.cast(_full_top_k(ctx, x, axis)[1], "int32")


@onnx_rule("top_k")
def _top_k(ctx, x, k, sorted):
    values, indices = ctx.op("TopK", x, ctx.const([k], "int64"), axis=-1, largest=1, sorted=1, outputs=2)
    return values, ctx.cast(indices, "int32")
