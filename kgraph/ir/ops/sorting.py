"""Ops that order elements: sort, argsort, top_k, and the running product."""

from __future__ import annotations

from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.shapes import normalize_axis
from kgraph.ir.types import TensorType


def _sort(op: str):
    def infer(types, axis):
        (x,) = types
        if x.rank == 0:
            raise ShapeError(f"{op} needs a tensor of rank >= 1, got a scalar")
        normalize_axis(axis, x.rank, op)
        return [TensorType("int32" if op == "argsort" else x.dtype, x.shape)]

    return infer


register("sort", _sort("sort"), attrs={"axis": -1}, num_inputs=1, doc="x sorted ascending along axis (stable)")
register("argsort", _sort("argsort"), attrs={"axis": -1}, num_inputs=1,
         doc="int32 indices that sort x ascending along axis (stable)")


def _top_k(types, k, sorted):
    (x,) = types
    if x.rank == 0:
        raise ShapeError("top_k needs a tensor of rank >= 1, got a scalar")
    last = x.shape[-1]
    if isinstance(k, bool) or not isinstance(k, int) or k < 1 or isinstance(last, int) and k > last:
        raise ShapeError(f"top_k: k must be an int from 1 to the last dim of {x.shape}, got {k!r}")
    shape = x.shape[:-1] + (k,)
    return [TensorType(x.dtype, shape), TensorType("int32", shape)]


register("top_k", _top_k, attrs={"k": REQUIRED, "sorted": True}, num_inputs=1,
         doc="the k largest values along the last axis, largest first, and their int32 indices")


def _cumprod(types, axis):
    (x,) = types
    if x.dtype == "bool":
        raise ShapeError("cumprod needs a numeric input, got bool")
    normalize_axis(axis, x.rank, "cumprod")
    return [x]


register("cumprod", _cumprod, attrs={"axis": REQUIRED}, num_inputs=1, doc="running product along axis")
