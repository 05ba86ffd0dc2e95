"""Nested structures (lists, tuples, dicts) of leaves: flatten, map and rebuild, with None as a leaf."""

from __future__ import annotations

from typing import Any, Callable


def flatten(structure) -> list:
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    return [structure]


def map_structure(fn: Callable[[Any], Any], structure):
    if isinstance(structure, list):
        return [map_structure(fn, item) for item in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, item) for item in structure)
    if isinstance(structure, dict):
        return {key: map_structure(fn, value) for key, value in structure.items()}
    return fn(structure)


def pack_like(structure, leaves: list):
    """Rebuilds `structure` with `leaves` in `flatten` order."""
    iterator = iter(leaves)
    result = map_structure(lambda _: next(iterator), _sorted_dicts(structure))
    return result


def _sorted_dicts(structure):
    if isinstance(structure, dict):
        return {key: _sorted_dicts(structure[key]) for key in sorted(structure)}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_sorted_dicts(item) for item in structure)
    return structure
