"""More elementwise math: trigonometric and hyperbolic maps, rounding toward zero, float classification,
bitwise logic and shifts, and the two-argument functions NumPy has beyond arithmetic."""

from __future__ import annotations

from kgraph.ir import traits
from kgraph.ir.registry import ShapeError, register
from kgraph.ir.shapes import broadcast_shapes
from kgraph.ir.types import TensorType, is_float, is_int

FLOAT_UNARY = ("tan", "sinh", "cosh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "erfinv",
               "erfc", "i0", "trunc")
CLASSIFY = ("isnan", "isinf")
INT_UNARY = ("bitwise_invert",)
FLOAT_BINARY = ("arctan2", "nextafter")
NUMERIC_BINARY = ("fmod",)
INT_BINARY = ("bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift", "gcd", "lcm")
COMMUTATIVE = {"bitwise_and", "bitwise_or", "bitwise_xor", "gcd", "lcm"}
_ELEMENTWISE = (traits.ELEMENTWISE, traits.LAYOUT_TRANSPARENT)


def _unary(op: str, kind: str):
    def infer(types):
        (x,) = types
        if kind == "float" and not is_float(x.dtype):
            raise ShapeError(f"{op} needs a floating-point input, got {x.dtype}")
        if kind == "int" and not (is_int(x.dtype) or x.dtype == "bool"):
            raise ShapeError(f"{op} needs an integer or bool input, got {x.dtype}")
        return [TensorType("bool", x.shape) if op in CLASSIFY else x]

    return infer


def _binary(op: str, kind: str):
    def infer(types):
        a, b = types
        if a.dtype != b.dtype:
            raise ShapeError(f"{op} needs inputs of one dtype, got {a.dtype} and {b.dtype}")
        if kind == "float" and not is_float(a.dtype):
            raise ShapeError(f"{op} needs floating-point inputs, got {a.dtype}")
        if kind == "int" and not (is_int(a.dtype) or a.dtype == "bool" and op.startswith("bitwise")):
            raise ShapeError(f"{op} needs integer inputs, got {a.dtype}")
        if kind == "numeric" and a.dtype == "bool":
            raise ShapeError(f"{op} needs numeric inputs, got bool")
        return [TensorType(a.dtype, broadcast_shapes(a.shape, b.shape))]

    return infer


for _op in FLOAT_UNARY:
    register(_op, _unary(_op, "float"), num_inputs=1, traits=_ELEMENTWISE, doc=f"elementwise {_op}, as np.{_op}")
for _op in CLASSIFY:
    register(_op, _unary(_op, "any"), num_inputs=1, traits=_ELEMENTWISE, doc=f"elementwise {_op}, bool result")
for _op in INT_UNARY:
    register(_op, _unary(_op, "int"), num_inputs=1, traits=_ELEMENTWISE, doc="bitwise NOT of integers, NOT of bools")
for _ops, _kind in ((FLOAT_BINARY, "float"), (NUMERIC_BINARY, "numeric"), (INT_BINARY, "int")):
    for _op in _ops:
        _traits = _ELEMENTWISE + ((traits.COMMUTATIVE,) if _op in COMMUTATIVE else ())
        register(_op, _binary(_op, _kind), num_inputs=2, traits=_traits, doc=f"broadcasting {_op}, as np.{_op}")
