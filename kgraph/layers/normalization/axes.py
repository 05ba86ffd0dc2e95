"""Axis checks shared by the normalization layers: each axis in range and of known size, at build time."""

from __future__ import annotations


def checked_axes(layer, axis, input_shape, known_size: bool = True) -> tuple[int, ...]:
    """`axis` (an int or a list of ints) as sorted non-negative axes of `input_shape`; a ValueError naming the
    layer and the shape when one is out of range or, with `known_size`, of unknown size."""
    rank = len(input_shape)
    requested = [axis] if isinstance(axis, int) else list(axis)
    where = f"Layer {layer.name!r} ({type(layer).__name__})"
    for a in requested:
        if not -rank <= a < rank:
            raise ValueError(f"{where}: axis {a} is out of bounds for input shape {tuple(input_shape)} "
                             f"(rank {rank}). Received: axis={axis!r}")
    axes = tuple(sorted({a % rank for a in requested}))
    if known_size:
        unknown = [a for a in axes if input_shape[a] is None]
        if unknown:
            raise ValueError(f"{where}: axis {unknown[0]} of input shape {tuple(input_shape)} must have a known "
                             f"size to create the layer's weights. Received: axis={axis!r}")
    return axes
