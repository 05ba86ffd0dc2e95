"""ONNX rules for ops sized by their inputs' shapes: each dim expression becomes int64 arithmetic on
Shape/Gather of the inputs it reads, so the exported model keeps a dynamic batch."""

import numpy as np
from onnx import numpy_helper

from kgraph.ir.types import numpy_dtype
from kgraph.lowering.onnx.registry import onnx_refusal, onnx_rule

_OPERATORS = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "floor_divide": "Div"}


def _dim(ctx, refs, expr) -> str:
    """An int64[1] tensor holding the size of dim expression `expr` (non-negative sizes, so Div floors)."""
    if isinstance(expr, int):
        return ctx.const(np.asarray([expr], np.int64))
    if expr[0] == "dim":
        axis = expr[2] % ctx.in_types[expr[1]].rank
        return ctx.op("Gather", ctx.op("Shape", refs[expr[1]]), ctx.const(np.asarray([axis], np.int64)), axis=0)
    return ctx.op(_OPERATORS[expr[0]], _dim(ctx, refs, expr[1]), _dim(ctx, refs, expr[2]))


def shape_tensor(ctx, refs, shape) -> str:
    """An int64 1-D tensor of the sizes that the dim expressions `shape` give."""
    if not shape:
        return ctx.const(np.zeros((0,), np.int64))
    dims = [_dim(ctx, refs, expr) for expr in shape]
    return dims[0] if len(dims) == 1 else ctx.op("Concat", *dims, axis=0)


@onnx_rule("fill")
def _fill(ctx, *refs, shape, value, dtype):
    """ConstantOfShape of the computed shape; Expand of a scalar for bfloat16 before opset 20."""
    out = ctx.out_types[0].dtype
    fill = np.asarray([value]).astype(numpy_dtype(out))
    size = shape_tensor(ctx, refs, shape)
    if out == "bfloat16" and ctx.opset < 20:
        return ctx.op("Expand", ctx.const(fill.reshape(())), size)
    return ctx.op("ConstantOfShape", size, value=numpy_helper.from_array(fill, "value"))


@onnx_rule("dim_size")
def _dim_size(ctx, *refs, dim, dtype):
    return ctx.cast(ctx.squeeze(_dim(ctx, refs, dim), [0]), dtype)


onnx_refusal("random_sample", "it draws random numbers (a kgraph.random function called in a layer's call, such "
                              "as a VAE's sampling), which ONNX Runtime cannot draw as XLA does; export a model "
                              "that stops before the draw, e.g. the encoder's z_mean")
