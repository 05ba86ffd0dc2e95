"""Op traits: what passes may assume about an op, declared once with the op instead of in op-name lists.

A pass asks `get_op(node.op).has(ELEMENTWISE)`; it never lists op names.
"""

from __future__ import annotations

ELEMENTWISE = "elementwise"
"""Each output element depends only on the input elements at the same (broadcast) position."""

COMMUTATIVE = "commutative"
"""A binary op whose two inputs may be swapped."""

REDUCTION = "reduction"
"""Reduces its input over the axes named by its `axis` attribute."""

LAYOUT_TRANSPARENT = "layout_transparent"
"""Commutes with a transpose of its inputs once its axis attribute is permuted (elementwise ops and reductions)."""

RANDOM = "random"
"""Draws random numbers: never folded, never deduplicated, dropped at inference where it is training-only."""

HAS_STATE = "has_state"
"""Reads or writes state beyond its inputs: never folded, never deduplicated."""

ALL = frozenset({ELEMENTWISE, COMMUTATIVE, REDUCTION, LAYOUT_TRANSPARENT, RANDOM, HAS_STATE})
