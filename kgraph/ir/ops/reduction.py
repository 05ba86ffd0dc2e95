"""Reductions over axes: sum, mean, max, min, prod, argmax, argmin, logsumexp."""

from __future__ import annotations

from kgraph.ir.registry import ShapeError, register
from kgraph.ir.shapes import normalize_axes, normalize_axis, reduced_shape
from kgraph.ir.traits import LAYOUT_TRANSPARENT, REDUCTION
from kgraph.ir.types import TensorType, is_float


def _reduce(op: str):
    def infer(types, axis, keepdims):
        (x,) = types
        axes = normalize_axes(axis, x.rank, op)
        if op in ("mean", "logsumexp") and not is_float(x.dtype):
            raise ShapeError(f"{op} needs a floating-point input, got {x.dtype}")
        return [TensorType(x.dtype, reduced_shape(x.shape, axes, keepdims))]

    return infer


for _op in ("sum", "mean", "max", "min", "prod", "logsumexp"):
    register(_op, _reduce(_op), attrs={"axis": None, "keepdims": False}, num_inputs=1,
             traits=(REDUCTION, LAYOUT_TRANSPARENT), axes="axis", doc=f"{_op} over axes")


def _arg(op: str):
    def infer(types, axis, keepdims):
        (x,) = types
        if axis is None:
            return [TensorType("int32", ())]
        a = normalize_axis(axis, x.rank, op)
        return [TensorType("int32", reduced_shape(x.shape, (a,), keepdims))]

    return infer


for _op in ("argmax", "argmin"):
    register(_op, _arg(_op), attrs={"axis": -1, "keepdims": False}, num_inputs=1,
             traits=(REDUCTION, LAYOUT_TRANSPARENT), axis="axis", doc=f"{_op} along an axis, int32")
