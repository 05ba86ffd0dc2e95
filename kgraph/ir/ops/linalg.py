"""Linear algebra ops."""

from __future__ import annotations

from kgraph.ir.registry import ShapeError, register
from kgraph.ir.shapes import broadcast_shapes
from kgraph.ir.types import TensorType


def _dims_match(a, b) -> bool:
    return a == b or isinstance(a, str) or isinstance(b, str)


def _matmul(types):
    a, b = types
    if a.dtype != b.dtype:
        raise ShapeError(f"matmul needs inputs of one dtype, got {a.dtype} and {b.dtype}")
    if a.rank == 0 or b.rank == 0:
        raise ShapeError(f"matmul needs inputs of rank >= 1, got shapes {a.shape} and {b.shape}")
    a_shape = (1,) + a.shape if a.rank == 1 else a.shape
    b_shape = b.shape + (1,) if b.rank == 1 else b.shape
    if not _dims_match(a_shape[-1], b_shape[-2]):
        raise ShapeError(f"matmul: contracting dims differ: shapes {a.shape} and {b.shape}")
    batch = broadcast_shapes(a_shape[:-2], b_shape[:-2])
    shape = batch + (a_shape[-2], b_shape[-1])
    if a.rank == 1:
        shape = shape[:-2] + shape[-1:]
    if b.rank == 1:
        shape = shape[:-1]
    return [TensorType(a.dtype, shape)]


register("matmul", _matmul, num_inputs=2, doc="NumPy matmul: batched matrix product")


def _matmul_integer(types):
    a, b = types
    if a.dtype != "int8" or b.dtype != "int8":
        raise ShapeError(f"matmul_integer needs two int8 inputs, got {a.dtype} and {b.dtype}")
    (product,) = _matmul(types)
    return [TensorType("int32", product.shape)]


register("matmul_integer", _matmul_integer, num_inputs=2,
         doc="matmul of two int8 tensors accumulated and returned in int32 (Keras' int8 matmul)")
