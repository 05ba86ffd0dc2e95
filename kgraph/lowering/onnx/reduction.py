"""ONNX rules for reductions: Reduce* over explicit axes (axis=None is every axis), ArgMax/ArgMin cast to int32.

ONNX Runtime's ReduceLogSumExp shifts by the maximum as JAX does, infinities included."""

from kgraph.ir.shapes import normalize_axes, normalize_axis
from kgraph.lowering.onnx.registry import onnx_rule

_REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin", "prod": "ReduceProd",
           "logsumexp": "ReduceLogSumExp"}


def _axes(ctx, axis) -> tuple[int, ...]:
    return normalize_axes(axis, ctx.in_types[0].rank, ctx.node.op)


for _op, _onnx_op in _REDUCE.items():
    @onnx_rule(_op)
    def _reduce(ctx, x, axis, keepdims, _onnx_op=_onnx_op):
        axes = _axes(ctx, axis)
        return ctx.reduce(_onnx_op, x, axes, keepdims, ctx.in_types[0].dtype) if axes else x


for _op, _onnx_op in {"argmax": "ArgMax", "argmin": "ArgMin"}.items():
    @onnx_rule(_op)
    def _arg(ctx, x, axis, keepdims, _onnx_op=_onnx_op):
        if axis is None:
            x = ctx.op("Reshape", x, ctx.const([-1], "int64"))
            index = ctx.op(_onnx_op, x, axis=0, keepdims=0)
        else:
            index = ctx.op(_onnx_op, x, axis=normalize_axis(axis, ctx.in_types[0].rank, ctx.node.op),
                           keepdims=int(keepdims))
        return ctx.cast(index, "int32")
