"""Nested structures (lists, tuples, dicts, namedtuples) of leaves, with Keras' `keras.tree` semantics.

Built on optree as Keras is: None is a leaf, dict keys flatten in sorted order, and rebuilt dicts keep
their own key order.
"""

from __future__ import annotations

from typing import Any, Callable

import optree

_NS = "kgraph"


class MAP_TO_NONE:
    """Returned by a `traverse` function to replace a sub-structure with None."""


def is_nested(structure) -> bool:
    """Whether `structure` is a container (list, tuple, dict, ...) rather than a leaf."""
    return not optree.tree_is_leaf(structure, none_is_leaf=True, namespace=_NS)


def flatten(structure) -> list:
    """The leaves of `structure` in order (dicts by sorted key)."""
    return optree.tree_flatten(structure, none_is_leaf=True, namespace=_NS)[0]


def flatten_with_path(structure) -> list[tuple[tuple, Any]]:
    """`(path, leaf)` pairs, where a path is the tuple of keys and indices leading to the leaf."""
    paths, leaves, _ = optree.tree_flatten_with_path(structure, none_is_leaf=True, namespace=_NS)
    return list(zip(paths, leaves))


def _check_structures(structures) -> None:
    if not structures:
        raise ValueError("Must provide at least one structure")


def map_structure(func: Callable, *structures, none_is_leaf: bool = True):
    """`func` applied to the leaves of one or more structures of the same shape."""
    _check_structures(structures)

    def checked(*leaves):
        if not all(optree.tree_is_leaf(s, none_is_leaf=none_is_leaf, namespace=_NS) for s in leaves):
            raise ValueError("Structures don't have the same nested structure.")
        return func(*leaves)

    return optree.tree_map(checked if len(structures) > 1 else func, *structures, none_is_leaf=none_is_leaf,
                           namespace=_NS)


def map_structure_up_to(shallow_structure, func: Callable, *structures):
    """`func` applied to the sub-structures of `structures` found at the leaves of `shallow_structure`."""
    _check_structures(structures)

    def checked(shallow, *args):
        if not optree.tree_is_leaf(shallow):
            raise ValueError("Structures don't have the same nested structure.")
        return func(*args)

    return optree.tree_map(checked, shallow_structure, *structures, none_is_leaf=True, namespace=_NS)


def assert_same_structure(a, b) -> None:
    """Raises a ValueError unless `a` and `b` nest the same way."""
    def check(a_leaf, b_leaf):
        if not (optree.tree_is_leaf(a_leaf, none_is_leaf=True, namespace=_NS)
                and optree.tree_is_leaf(b_leaf, none_is_leaf=True, namespace=_NS)):
            raise ValueError("Structures don't have the same nested structure.")

    optree.tree_map(check, a, b, none_is_leaf=True, namespace=_NS)


def assert_same_paths(a, b) -> None:
    """Raises a ValueError naming the differing paths unless `a` and `b` have the same leaf paths."""
    a_paths = set(optree.tree_paths(a, none_is_leaf=True, namespace=_NS))
    b_paths = set(optree.tree_paths(b, none_is_leaf=True, namespace=_NS))
    if a_paths != b_paths:
        msg = "`a` and `b` don't have the same paths."
        if a_paths - b_paths:
            msg += f"\nPaths in `a` missing in `b`:\n{a_paths - b_paths}"
        if b_paths - a_paths:
            msg += f"\nPaths in `b` missing in `a`:\n{b_paths - a_paths}"
        raise ValueError(msg)


def pack_sequence_as(structure, flat_sequence):
    """`structure` rebuilt with the leaves of `flat_sequence`, in `flatten` order."""
    _, spec = optree.tree_flatten(structure, none_is_leaf=True, namespace=_NS)
    flat_sequence = list(flat_sequence)
    if len(flat_sequence) != spec.num_leaves:
        raise ValueError(f"The structure has {spec.num_leaves} leaves, but `flat_sequence` has "
                         f"{len(flat_sequence)} elements.")
    return optree.tree_unflatten(spec, flat_sequence)


pack_like = pack_sequence_as


def traverse(func: Callable, structure, top_down: bool = True):
    """Applies `func` to every sub-structure; a non-None result replaces that sub-structure
    (`MAP_TO_NONE` replaces it with None), and top-down a replaced sub-structure is not visited."""
    def children():
        leaves, spec = optree.tree_flatten(structure, is_leaf=lambda x: x is not structure, none_is_leaf=True,
                                           namespace=_NS)
        if spec.num_nodes == 1 and spec.num_leaves == 1:
            return structure
        return optree.tree_unflatten(spec, [traverse(func, c, top_down=top_down) for c in leaves])

    if top_down:
        result = func(structure)
        if result is None:
            return children()
    else:
        traversed = children()
        result = func(traversed)
        if result is None:
            return traversed
    return None if result is MAP_TO_NONE else result


def lists_to_tuples(structure):
    """`structure` with every list turned into a tuple."""
    return traverse(lambda x: tuple(x) if isinstance(x, list) else None, structure, top_down=False)


def map_shape_structure(func: Callable, structure):
    """`map_structure` where tuples/lists of ints and Nones (shapes) are leaves."""
    def is_shape(x) -> bool:
        return isinstance(x, (list, tuple)) and all(isinstance(e, (int, type(None))) for e in x)

    return optree.tree_map(func, structure, is_leaf=is_shape, none_is_leaf=True, namespace=_NS)


__all__ = ["MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten", "flatten_with_path",
           "is_nested", "lists_to_tuples", "map_shape_structure", "map_structure", "map_structure_up_to",
           "pack_sequence_as", "traverse"]
