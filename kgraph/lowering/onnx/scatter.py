"""ONNX rule for scatter: ScatterND (reductions add and mul from opset 16, max and min from 18)."""

from kgraph.lowering.onnx.refusal import refuse
from kgraph.lowering.onnx.registry import onnx_rule

_SINCE = {None: 13, "add": 16, "mul": 16, "max": 18, "min": 18}


@onnx_rule("scatter_update")
def _scatter_update(ctx, x, indices, updates, reduction):
    if ctx.opset < _SINCE[reduction]:
        refuse(ctx, f"ScatterND with reduction {reduction!r} needs opset {_SINCE[reduction]} or newer")
    attrs = {} if reduction is None else {"reduction": reduction}
    return ctx.op("ScatterND", x, ctx.cast(indices, "int64"), updates, **attrs)
