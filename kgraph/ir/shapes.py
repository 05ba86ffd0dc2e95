"""Shape arithmetic over static and symbolic dims, shared by the ops' inference rules."""

from __future__ import annotations

from typing import Sequence

from kgraph.ir.registry import ShapeError
from kgraph.ir.types import Dim


def broadcast_shapes(*shapes: Sequence[Dim]) -> tuple[Dim, ...]:
    """NumPy broadcasting where a symbolic dim matches itself, 1, or a static size."""
    rank = max((len(s) for s in shapes), default=0)
    result: list[Dim] = []
    for i in range(rank):
        dims = [s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0]
        out: Dim = 1
        for d in dims:
            if d == 1 or d == out:
                continue
            if out == 1:
                out = d
            elif isinstance(out, str) and isinstance(d, int):
                out = d
            elif isinstance(out, int) and isinstance(d, str):
                continue
            elif isinstance(out, str) and isinstance(d, str):
                continue
            else:
                raise ShapeError(f"shapes {[tuple(s) for s in shapes]} cannot be broadcast together (dim {i}: {out} vs {d})")
        result.append(out)
    return tuple(result)


def normalize_axis(axis: int, rank: int, op: str = "op") -> int:
    if not -rank <= axis < max(rank, 1):
        raise ShapeError(f"{op}: axis {axis} is out of range for a tensor of rank {rank}")
    return axis % rank if rank else 0


def normalize_axes(axis, rank: int, op: str = "op") -> tuple[int, ...]:
    """None means every axis; an int or a sequence of ints is normalized to sorted non-negative axes."""
    if axis is None:
        return tuple(range(rank))
    if isinstance(axis, int):
        axis = (axis,)
    axes = tuple(sorted({normalize_axis(a, rank, op) for a in axis}))
    return axes


def reduced_shape(shape: Sequence[Dim], axes: tuple[int, ...], keepdims: bool) -> tuple[Dim, ...]:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def num_elements(shape: Sequence[Dim]) -> int | None:
    total = 1
    for d in shape:
        if not isinstance(d, int):
            return None
        total *= d
    return total
