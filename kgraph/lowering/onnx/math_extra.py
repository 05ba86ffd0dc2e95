"""ONNX rules for the extra elementwise math ops; where ONNX has no operator, a composition or a named refusal."""

import math

from kgraph.ir.types import is_float
from kgraph.lowering.onnx.refusal import refuse, refusing
from kgraph.lowering.onnx.registry import onnx_rule

_UNARY = {"tan": "Tan", "sinh": "Sinh", "cosh": "Cosh", "arcsin": "Asin", "arccos": "Acos", "arctan": "Atan",
          "arcsinh": "Asinh", "arccosh": "Acosh", "arctanh": "Atanh", "isnan": "IsNaN"}
for _op, _onnx_op in _UNARY.items():
    onnx_rule(_op)(lambda ctx, x, _onnx_op=_onnx_op: ctx.op(_onnx_op, x))
for _op in ("erfinv", "i0", "nextafter", "gcd", "lcm"):
    onnx_rule(_op)(refusing())


def _dtype(ctx) -> str:
    return ctx.in_types[0].dtype


@onnx_rule("isinf")
def _isinf(ctx, x):
    if not is_float(_dtype(ctx)):
        return ctx.op("Not", ctx.op("Equal", x, x))
    return ctx.op("IsInf", x)


@onnx_rule("erfc")
def _erfc(ctx, x):
    return ctx.op("Sub", ctx.const(1, _dtype(ctx)), ctx.op("Erf", x))


@onnx_rule("trunc")
def _trunc(ctx, x):
    negative = ctx.op("Less", x, ctx.const(0, _dtype(ctx)))
    return ctx.op("Where", negative, ctx.op("Ceil", x), ctx.op("Floor", x))


@onnx_rule("arctan2")
def _arctan2(ctx, y, x):
    """atan(y / x) moved to the right quadrant: + pi where x < 0 and y >= 0, - pi where x < 0 and y < 0;
    +-pi/2 (or 0) where x == 0."""
    dtype = _dtype(ctx)
    zero = ctx.const(0, dtype)
    base = ctx.op("Atan", ctx.op("Div", y, x))
    pi = ctx.const(math.pi, dtype)
    x_neg, y_neg = ctx.op("Less", x, zero), ctx.op("Less", y, zero)
    shift = ctx.op("Where", y_neg, ctx.op("Neg", pi), pi)
    result = ctx.op("Where", x_neg, ctx.op("Add", base, shift), base)
    half = ctx.op("Mul", ctx.op("Sign", y), ctx.const(math.pi / 2, dtype))
    at_zero = ctx.op("Where", ctx.op("Equal", y, zero), ctx.op("Where", x_neg, shift, zero), half)
    return ctx.op("Where", ctx.op("Equal", x, zero), at_zero, result)


@onnx_rule("fmod")
def _fmod(ctx, x, y):
    return ctx.op("Mod", x, y, fmod=1)


_BITWISE = {"bitwise_and": ("BitwiseAnd", "And"), "bitwise_or": ("BitwiseOr", "Or"),
            "bitwise_xor": ("BitwiseXor", "Xor")}


def _bitwise_rule(int_op: str, bool_op: str):
    def rule(ctx, a, b):
        if _dtype(ctx) == "bool":
            return ctx.op(bool_op, a, b)
        if ctx.opset < 18:
            refuse(ctx, "bitwise operators on integers need opset 18 or newer")
        return ctx.op(int_op, a, b)

    return rule


for _op, (_int_op, _bool_op) in _BITWISE.items():
    onnx_rule(_op)(_bitwise_rule(_int_op, _bool_op))


@onnx_rule("bitwise_invert")
def _bitwise_invert(ctx, x):
    if _dtype(ctx) == "bool":
        return ctx.op("Not", x)
    if ctx.opset < 18:
        refuse(ctx, "BitwiseNot needs opset 18 or newer")
    return ctx.op("BitwiseNot", x)


@onnx_rule("left_shift", "right_shift")
def _shift(ctx, x, y):
    """BitShift for unsigned ints; signed ints shift left as a multiply by 2**y, right as a floor division."""
    dtype = _dtype(ctx)
    if dtype.startswith("uint"):
        return ctx.op("BitShift", x, y, direction="LEFT" if ctx.node.op == "left_shift" else "RIGHT")
    refuse(ctx, "ONNX's BitShift takes unsigned integers only")
