"""ONNX rules for attention ops."""

import numpy as np

from kgraph.lowering.onnx.registry import onnx_rule


@onnx_rule("causal_mask")
def _causal_mask(ctx, x):
    """A constant when T and S are static, else GreaterOrEqual(Range(T)[:, None], Range(S)) from x's shape."""
    x_type = ctx.in_types[0]
    t, s = x_type.shape[-2:]
    if isinstance(t, int) and isinstance(s, int):
        return ctx.const(np.tril(np.ones((t, s), dtype=bool)))
    shape = ctx.op("Shape", x)
    zero, one = ctx.const(0, "int64"), ctx.const(1, "int64")
    rows, cols = (ctx.op("Range", zero, ctx.op("Gather", shape, ctx.const(axis, "int64")), one)
                  for axis in (x_type.rank - 2, x_type.rank - 1))
    return ctx.op("GreaterOrEqual", ctx.unsqueeze(rows, [1]), cols)
