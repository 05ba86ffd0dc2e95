"""Scatter: writing (or combining) updates into a tensor at index tuples, as ONNX ScatterND."""

from __future__ import annotations

from kgraph.ir.registry import ShapeError, register
from kgraph.ir.types import is_int

REDUCTIONS = (None, "add", "mul", "max", "min")


def _scatter_update(types, reduction):
    x, indices, updates = types
    if not is_int(indices.dtype):
        raise ShapeError(f"scatter_update needs integer indices, got {indices.dtype}")
    if reduction not in REDUCTIONS:
        raise ShapeError(f"scatter_update: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if x.dtype != updates.dtype:
        raise ShapeError(f"scatter_update needs updates of the input's dtype {x.dtype}, got {updates.dtype}")
    depth = indices.shape[-1] if indices.rank else None
    if not isinstance(depth, int) or depth > x.rank:
        raise ShapeError(f"scatter_update: indices of shape {indices.shape} must end in a known index depth of at "
                         f"most the input rank {x.rank}")
    expected = indices.shape[:-1] + x.shape[depth:]
    if updates.rank != len(expected) or any(isinstance(a, int) and isinstance(b, int) and a != b
                                            for a, b in zip(updates.shape, expected)):
        raise ShapeError(f"scatter_update: updates of shape {updates.shape} do not fit indices {indices.shape} into "
                         f"an input of shape {x.shape} (expected {expected})")
    return [x]


register("scatter_update", _scatter_update, attrs={"reduction": None}, num_inputs=3,
         doc="x with updates written (or combined by `reduction`) at the index tuples in the last axis of indices")
