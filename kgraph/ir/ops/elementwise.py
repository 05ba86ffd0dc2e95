"""Elementwise ops: unary maps, broadcasting binary arithmetic, comparisons, select, cast, constants."""

from __future__ import annotations

import numpy as np

from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.shapes import broadcast_shapes
from kgraph.ir.traits import COMMUTATIVE, ELEMENTWISE, INFERENCE_IDENTITY, LAYOUT_TRANSPARENT, SHAPE_ONLY
from kgraph.ir.types import TensorType, canonical_dtype, is_float

UNARY = (
    "negative", "abs", "exp", "log", "sqrt", "rsqrt", "square", "tanh", "sigmoid", "relu", "silu",
    "softplus", "softsign", "sign", "floor", "ceil", "round", "reciprocal", "erf", "log1p", "expm1",
    "sin", "cos", "stop_gradient", "identity",
)
FLOAT_ONLY = {"exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "silu", "softplus", "softsign", "reciprocal",
              "erf", "log1p", "expm1", "sin", "cos"}
ARITHMETIC = ("add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "floor_divide", "mod")
COMPARISON = ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")
LOGICAL = ("logical_and", "logical_or")
SYMMETRIC = {"add", "multiply", "maximum", "minimum", "equal", "not_equal", "logical_and", "logical_or"}
MAP = frozenset({ELEMENTWISE, LAYOUT_TRANSPARENT})


def _unary(op: str):
    def infer(types, **attrs):
        (x,) = types
        if op in FLOAT_ONLY and not is_float(x.dtype):
            raise ShapeError(f"{op} needs a floating-point input, got {x.dtype}")
        return [x]

    return infer


def _same_dtype(op: str, types) -> str:
    dtypes = {t.dtype for t in types}
    if len(dtypes) != 1:
        raise ShapeError(f"{op} needs inputs of one dtype, got {[t.dtype for t in types]}")
    return dtypes.pop()


def _binary(op: str, result_dtype: str | None = None):
    def infer(types, **attrs):
        dtype = _same_dtype(op, types)
        shape = broadcast_shapes(*(t.shape for t in types))
        return [TensorType(result_dtype or dtype, shape)]

    return infer


for _op in UNARY:
    register(_op, _unary(_op), num_inputs=1, traits=MAP | ({INFERENCE_IDENTITY} if _op == "stop_gradient" else set()),
             doc=f"elementwise {_op}")
for _op in ARITHMETIC:
    register(_op, _binary(_op), num_inputs=2, traits=MAP | ({COMMUTATIVE} if _op in SYMMETRIC else set()),
             doc=f"broadcasting {_op}")
for _op in COMPARISON + LOGICAL:
    register(_op, _binary(_op, "bool"), num_inputs=2, traits=MAP | ({COMMUTATIVE} if _op in SYMMETRIC else set()),
             doc=f"broadcasting {_op}, bool result")
register("logical_not", lambda types: [TensorType("bool", types[0].shape)], num_inputs=1, traits=MAP)


def _gelu(types, approximate):
    return _unary("gelu")(types)


register("gelu", _gelu, attrs={"approximate": False}, num_inputs=1, traits=MAP, doc="GELU, exact (erf) or tanh approximation")


def _where(types):
    cond, x, y = types
    if cond.dtype != "bool":
        raise ShapeError(f"where needs a bool condition, got {cond.dtype}")
    dtype = _same_dtype("where", [x, y])
    return [TensorType(dtype, broadcast_shapes(cond.shape, x.shape, y.shape))]


register("where", _where, num_inputs=3, traits=MAP, doc="select x where cond else y")


def _cast(types, dtype):
    return [TensorType(canonical_dtype(dtype), types[0].shape)]


register("cast", _cast, attrs={"dtype": REQUIRED}, num_inputs=1, traits=MAP)


def _clip(types, min, max):
    return [types[0]]


register("clip", _clip, attrs={"min": REQUIRED, "max": REQUIRED}, num_inputs=1, traits=MAP, doc="clamp into [min, max]")


def _constant(types, value):
    value = np.asarray(value)
    return [TensorType(canonical_dtype(value.dtype), tuple(int(d) for d in value.shape))]


register("constant", _constant, attrs={"value": REQUIRED}, num_inputs=0, doc="a literal array")


def _full_like(types, value, dtype):
    (x,) = types
    return [TensorType(canonical_dtype(dtype) if dtype else x.dtype, x.shape)]


register("full_like", _full_like, attrs={"value": REQUIRED, "dtype": None}, num_inputs=1, traits=MAP | {SHAPE_ONLY},
         doc="a tensor of x's shape filled with value")
