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


DIM_ARITHMETIC = ("add", "subtract", "multiply", "floor_divide")
"""The operators a dim expression may combine dims with."""


def check_dim_expr(expr, num_inputs: int, op: str = "op") -> None:
    """Checks a dim expression: an int, `("dim", input, axis)` (that input's size along axis) or
    `(operator, a, b)` over two expressions, with `operator` one of DIM_ARITHMETIC."""
    if isinstance(expr, int) and not isinstance(expr, bool):
        return
    if isinstance(expr, tuple) and len(expr) == 3 and expr[0] == "dim":
        if not 0 <= expr[1] < num_inputs:
            raise ShapeError(f"{op}: dim expression {expr} reads input {expr[1]} of {num_inputs}")
        return
    if isinstance(expr, tuple) and len(expr) == 3 and expr[0] in DIM_ARITHMETIC:
        check_dim_expr(expr[1], num_inputs, op)
        check_dim_expr(expr[2], num_inputs, op)
        return
    raise ShapeError(f"{op}: {expr!r} is not a dim expression (an int, ('dim', input, axis) or "
                     f"(operator, a, b) with operator in {DIM_ARITHMETIC})")


def _combine(operator: str, a, b):
    if operator == "add":
        return a + b
    if operator == "subtract":
        return a - b
    if operator == "multiply":
        return a * b
    return a // b


def evaluate_dim(expr, shapes: Sequence[Sequence[int]]) -> int:
    """The size a dim expression stands for, given the inputs' concrete shapes."""
    if isinstance(expr, int):
        return expr
    if expr[0] == "dim":
        return int(shapes[expr[1]][expr[2]])
    return _combine(expr[0], evaluate_dim(expr[1], shapes), evaluate_dim(expr[2], shapes))


_SYMBOLS = {"add": "+", "subtract": "-", "multiply": "*", "floor_divide": "//"}


def dim_of_expr(expr, shapes: Sequence[Sequence[Dim]], op: str = "op") -> Dim:
    """The IR dim of a dim expression over the inputs' (possibly symbolic) shapes: an int where every dim it reads
    is static, else a symbol naming the arithmetic ("batch", "batch*2")."""
    if isinstance(expr, int):
        return expr
    if expr[0] == "dim":
        shape = shapes[expr[1]]
        if not -len(shape) <= expr[2] < len(shape):
            raise ShapeError(f"{op}: dim expression {expr} reads axis {expr[2]} of an input of shape {tuple(shape)}")
        return shape[expr[2]]
    a, b = dim_of_expr(expr[1], shapes, op), dim_of_expr(expr[2], shapes, op)
    if isinstance(a, int) and isinstance(b, int):
        return _combine(expr[0], a, b)
    if expr[0] == "multiply" and 1 in (a, b):
        return b if a == 1 else a
    if expr[0] in ("add", "subtract") and b == 0:
        return a
    return f"({a}{_SYMBOLS[expr[0]]}{b})"
