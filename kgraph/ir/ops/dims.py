"""Ops whose shape is read off other tensors at run time: a traced batch dim (`ops.shape(x)[0]` inside `call`)
used as a size. Each input is a tensor whose dims the `shape` dim expressions read (see
`kgraph.ir.shapes.check_dim_expr`); its values are never read."""

from __future__ import annotations

from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.shapes import check_dim_expr, dim_of_expr
from kgraph.ir.traits import SHAPE_ONLY
from kgraph.ir.types import Dim, TensorType, canonical_dtype


def shape_of_exprs(shape, types, op: str) -> tuple[Dim, ...]:
    """The IR shape that the dim expressions `shape` give over input `types`; raises on a negative size."""
    dims = []
    for expr in shape:
        check_dim_expr(expr, len(types), op)
        dim = dim_of_expr(expr, [t.shape for t in types], op)
        if isinstance(dim, int) and dim < 0:
            raise ShapeError(f"{op}: the shape {tuple(shape)} gives a negative size {dim}")
        dims.append(dim)
    return tuple(dims)


def _fill(types, shape, value, dtype):
    return [TensorType(canonical_dtype(dtype), shape_of_exprs(shape, types, "fill"))]


register("fill", _fill, attrs={"shape": REQUIRED, "value": REQUIRED, "dtype": REQUIRED}, traits=(SHAPE_ONLY,),
         doc="a tensor filled with value, of a shape given by dim expressions over the inputs' shapes")


def _dim_size(types, dim, dtype):
    if canonical_dtype(dtype) not in ("int32", "int64"):
        raise ShapeError(f"dim_size gives int32 or int64, got {dtype}")
    shape_of_exprs((dim,), types, "dim_size")
    return [TensorType(canonical_dtype(dtype), ())]


register("dim_size", _dim_size, attrs={"dim": REQUIRED, "dtype": "int32"}, traits=(SHAPE_ONLY,),
         doc="the size a dim expression over the inputs' shapes stands for, as a scalar")
