"""ONNX rules for linear algebra ops."""

from kgraph.lowering.onnx.registry import onnx_rule


@onnx_rule("matmul")
def _matmul(ctx, a, b):
    return ctx.op("MatMul", a, b)


@onnx_rule("matmul_integer")
def _matmul_integer(ctx, a, b):
    return ctx.op("MatMulInteger", a, b)
