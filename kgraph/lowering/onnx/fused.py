"""ONNX rules for the fused ops: Gemm, Conv with its bias input, Resize (nearest, asymmetric, floor: for integer
scales it picks input element i // scale, exactly what repeating each element does) and Attention."""

import numpy as np

from kgraph.lowering.onnx.convolution import conv_node
from kgraph.lowering.onnx.registry import onnx_rule


@onnx_rule("gemm")
def _gemm(ctx, a, b, c):
    return ctx.op("Gemm", a, b, c)


@onnx_rule("conv_bias")
def _conv_bias(ctx, x, kernel, bias, **attrs):
    return conv_node(ctx, x, kernel, bias, **attrs)


@onnx_rule("upsample_nearest")
def _upsample_nearest(ctx, x, scales):
    return ctx.op("Resize", x, "", ctx.const(np.asarray(scales, np.float32)), mode="nearest",
                  coordinate_transformation_mode="asymmetric", nearest_mode="floor")


_ATTENTION_SINCE = 23


@onnx_rule("attention")
def _attention(ctx, q, k, v, num_heads, scale):
    """Attention from opset 23; below it the MatMul/Softmax form, heads split by Reshape and Transpose."""
    if ctx.opset >= _ATTENTION_SINCE:
        return ctx.op("Attention", q, k, v, q_num_heads=num_heads, kv_num_heads=num_heads, scale=float(scale))
    split = ctx.const([0, 0, num_heads, -1], "int64")
    qh, vh = (ctx.op("Transpose", ctx.op("Reshape", x, split), perm=[0, 2, 1, 3]) for x in (q, v))
    kt = ctx.op("Transpose", ctx.op("Reshape", k, split), perm=[0, 2, 3, 1])
    logits = ctx.op("Mul", ctx.op("MatMul", qh, kt), ctx.const(scale, ctx.in_types[0].dtype))
    out = ctx.op("MatMul", ctx.op("Softmax", logits, axis=-1), vh)
    return ctx.op("Reshape", ctx.op("Transpose", out, perm=[0, 2, 1, 3]), ctx.const([0, 0, -1], "int64"))
