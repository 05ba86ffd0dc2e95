"""ONNX rules for elementwise ops; where ONNX has no single op, the rule composes the math JAX computes."""

import math

import numpy as np
from onnx import numpy_helper

from kgraph.ir.types import is_float, numpy_dtype
from kgraph.lowering.onnx.builder import OnnxContext
from kgraph.lowering.onnx.registry import onnx_rule

_UNARY = {
    "abs": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "tanh": "Tanh", "sigmoid": "Sigmoid",
    "softplus": "Softplus", "softsign": "Softsign", "sign": "Sign", "reciprocal": "Reciprocal", "erf": "Erf",
    "sin": "Sin", "cos": "Cos", "logical_not": "Not",
}
_BINARY = {
    "power": "Pow", "maximum": "Max", "minimum": "Min", "equal": "Equal", "less": "Less", "less_equal": "LessOrEqual",
    "greater": "Greater", "greater_equal": "GreaterOrEqual", "logical_and": "And", "logical_or": "Or",
    "where": "Where",
}
_ARITHMETIC = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div"}
for _op, _onnx_op in {**_UNARY, **_BINARY}.items():
    onnx_rule(_op)(lambda ctx, *xs, _onnx_op=_onnx_op: ctx.op(_onnx_op, *xs))
for _op, _onnx_op in _ARITHMETIC.items():
    onnx_rule(_op)(lambda ctx, a, b, _onnx_op=_onnx_op: ctx.arith(_onnx_op, a, b, dtype=ctx.in_types[0].dtype))


def _dtype(ctx: OnnxContext) -> str:
    return ctx.in_types[0].dtype


@onnx_rule("identity", "stop_gradient")
def _identity(ctx, x):
    return x


@onnx_rule("floor", "ceil", "round")
def _rounding(ctx, x):
    if not is_float(_dtype(ctx)):
        return x
    return ctx.op({"floor": "Floor", "ceil": "Ceil", "round": "Round"}[ctx.node.op], x)


@onnx_rule("negative")
def _negative(ctx, x):
    if _dtype(ctx).startswith("uint"):
        return ctx.arith("Sub", ctx.const(0, _dtype(ctx)), x, dtype=_dtype(ctx))
    return ctx.op("Neg", x)


@onnx_rule("relu")
def _relu(ctx, x):
    if is_float(_dtype(ctx)):
        return ctx.op("Relu", x)
    return ctx.op("Max", x, ctx.const(0, _dtype(ctx)))


@onnx_rule("square")
def _square(ctx, x):
    return ctx.arith("Mul", x, x, dtype=_dtype(ctx))


@onnx_rule("rsqrt")
def _rsqrt(ctx, x):
    return ctx.op("Reciprocal", ctx.op("Sqrt", x))


@onnx_rule("silu")
def _silu(ctx, x):
    return ctx.op("Mul", x, ctx.op("Sigmoid", x))


@onnx_rule("log1p")
def _log1p(ctx, x):
    """log(1 + x) accurate for tiny x: log(u) * x / (u - 1) with u = 1 + x, x itself where u == 1, u where u is inf."""
    dtype = _dtype(ctx)
    one = ctx.const(1, dtype)
    u = ctx.op("Add", x, one)
    u_minus_1 = ctx.op("Sub", u, one)
    scaled = ctx.op("Div", ctx.op("Mul", ctx.op("Log", u), x), u_minus_1)
    result = ctx.op("Where", ctx.op("Equal", u_minus_1, ctx.const(0, dtype)), x, scaled)
    return ctx.op("Where", ctx.op("IsInf", u), u, result)


@onnx_rule("expm1")
def _expm1(ctx, x):
    """exp(x) - 1 accurate for tiny x: (u - 1) * x / log(u) with u = exp(x), x where u == 1, -1 where u - 1 == -1."""
    dtype = _dtype(ctx)
    u = ctx.op("Exp", x)
    u_minus_1 = ctx.op("Sub", u, ctx.const(1, dtype))
    scaled = ctx.op("Div", ctx.op("Mul", u_minus_1, x), ctx.op("Log", u))
    small = ctx.op("Where", ctx.op("Equal", u_minus_1, ctx.const(0, dtype)), x, scaled)
    saturated = ctx.op("Equal", u_minus_1, ctx.const(-1, dtype))
    near_inf = ctx.op("IsInf", u)
    return ctx.op("Where", ctx.op("Or", saturated, near_inf), u_minus_1, small)


@onnx_rule("not_equal")
def _not_equal(ctx, a, b):
    return ctx.op("Not", ctx.op("Equal", a, b))


@onnx_rule("mod")
def _mod(ctx, x, y):
    """Python-style remainder (sign of the divisor), as jnp.mod: Mod for ints, fmod plus a correction for floats."""
    dtype = _dtype(ctx)
    if not is_float(dtype):
        return ctx.op("Mod", x, y, fmod=0)
    zero = ctx.const(0, dtype)
    rem = ctx.op("Mod", x, y, fmod=1)
    signs_differ = ctx.op("Xor", ctx.op("Less", rem, zero), ctx.op("Less", y, zero))
    correct = ctx.op("And", signs_differ, ctx.op("Not", ctx.op("Equal", rem, zero)))
    return ctx.op("Where", correct, ctx.op("Add", rem, y), rem)


@onnx_rule("floor_divide")
def _floor_divide(ctx, x, y):
    """Floor division as jnp.floor_divide: exact (x - mod(x, y)) / y for ints, CPython's float divmod for floats."""
    dtype = _dtype(ctx)
    if dtype.startswith("uint"):
        return ctx.arith("Div", x, y, dtype=dtype)
    if not is_float(dtype):
        return ctx.arith("Div", ctx.arith("Sub", x, ctx.op("Mod", x, y, fmod=0), dtype=dtype), y, dtype=dtype)
    zero = ctx.const(0, dtype)
    rem = ctx.op("Mod", x, y, fmod=1)
    corrected = ctx.op("Where", ctx.op("Equal", y, zero), x, ctx.op("Sub", x, rem))
    quotient = ctx.op("Div", corrected, y)
    signs_differ = ctx.op("Not", ctx.op("Equal", ctx.op("Sign", y), ctx.op("Sign", rem)))
    adjust = ctx.op("And", ctx.op("Not", ctx.op("Equal", rem, zero)), signs_differ)
    quotient = ctx.op("Where", adjust, ctx.op("Sub", quotient, ctx.const(1, dtype)), quotient)
    return ctx.op("Round", quotient)


@onnx_rule("gelu")
def _gelu(ctx, x, approximate):
    """ONNX Gelu from opset 20; below it, the erf form (or the tanh form when `approximate`) that JAX computes."""
    if ctx.opset >= 20:
        return ctx.op("Gelu", x, approximate="tanh" if approximate else "none")
    dtype = _dtype(ctx)
    if approximate:
        cube = ctx.op("Mul", ctx.op("Mul", x, x), x)
        inner = ctx.op("Add", x, ctx.op("Mul", cube, ctx.const(0.044715, dtype)))
        tanh = ctx.op("Tanh", ctx.op("Mul", inner, ctx.const(math.sqrt(2 / math.pi), dtype)))
        cdf = ctx.op("Mul", ctx.op("Add", tanh, ctx.const(1, dtype)), ctx.const(0.5, dtype))
        return ctx.op("Mul", x, cdf)
    erf = ctx.op("Erf", ctx.op("Div", x, ctx.const(math.sqrt(2), dtype)))
    return ctx.op("Div", ctx.op("Mul", x, ctx.op("Add", erf, ctx.const(1, dtype))), ctx.const(2, dtype))


@onnx_rule("cast")
def _cast(ctx, x, dtype):
    return ctx.cast(x, ctx.out_types[0].dtype)


@onnx_rule("clip")
def _clip(ctx, x, min, max):
    dtype = _dtype(ctx)
    bounds = [ctx.const(b, dtype) if b is not None else "" for b in (min, max)]
    return ctx.op("Clip", x, *bounds)


@onnx_rule("constant")
def _constant(ctx, value):
    return ctx.const(np.asarray(value))


@onnx_rule("full_like")
def _full_like(ctx, x, value, dtype):
    """ConstantOfShape(Shape(x)); Expand of a scalar for bfloat16 before opset 20, which ConstantOfShape lacks."""
    out = ctx.out_types[0].dtype
    fill = np.asarray([value]).astype(numpy_dtype(out))
    shape = ctx.op("Shape", x)
    if out == "bfloat16" and ctx.opset < 20:
        return ctx.op("Expand", ctx.const(fill.reshape(())), shape)
    return ctx.op("ConstantOfShape", shape, value=numpy_helper.from_array(fill, "value"))
