"""Argument parsing shared by the cropping, padding and upsampling layers: margins, sizes and data formats."""

from __future__ import annotations

from kgraph import config


def margins_1d(value, name: str, layer: str) -> tuple[int, int]:
    """An int or a (before, after) pair of non-negative ints as a pair."""
    pair = (value, value) if isinstance(value, int) else tuple(value) if hasattr(value, "__len__") else None
    valid = pair is not None and len(pair) == 2
    if not valid or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in pair):
        raise ValueError(f"{layer}: `{name}` must be a non-negative int or a pair of them, got {name}={value!r}")
    return pair


def margins_2d(value, name: str, layer: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """An int, a (height, width) pair, or ((top, bottom), (left, right)) as the last form."""
    if isinstance(value, int):
        return margins_1d(value, name, layer), margins_1d(value, name, layer)
    if not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{layer}: `{name}` must be an int, a pair of ints or a pair of pairs, got {name}={value!r}")
    return margins_1d(value[0], f"{name}[0]", layer), margins_1d(value[1], f"{name}[1]", layer)


def positive_sizes(value, count: int, name: str, layer: str) -> tuple[int, ...]:
    """An int or `count` ints, all positive, as a tuple of `count`."""
    sizes = (value,) * count if isinstance(value, int) else tuple(value) if hasattr(value, "__len__") else ()
    if len(sizes) != count or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
        raise ValueError(f"{layer}: `{name}` must be a positive int or {count} of them, got {name}={value!r}")
    return sizes


def resolve_data_format(value: str | None, layer: str) -> str:
    """`value`, or the configured image data format when None; channels_last or channels_first."""
    value = value or config.image_data_format()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: `data_format` must be 'channels_last' or 'channels_first', got {value!r}")
    return value
