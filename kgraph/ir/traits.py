"""Op traits: what passes may assume about an op, declared once with the op instead of in op-name lists.

A pass asks `get_op(node.op).has(ELEMENTWISE)`; it never lists op names. Where a trait concerns axes, the op's
declaration also names the attribute that holds them (`OpDef.axis`, `OpDef.axes`, `OpDef.per_axis`).
"""

from __future__ import annotations

ELEMENTWISE = "elementwise"
"""Each output element depends only on the input elements at the same (broadcast) position."""

COMMUTATIVE = "commutative"
"""A binary op whose two inputs may be swapped."""

REDUCTION = "reduction"
"""Reduces its input over the axes named by its axis attribute (`OpDef.axis` or `OpDef.axes`) and `keepdims`."""

LAYOUT_TRANSPARENT = "layout_transparent"
"""Commutes with a transpose of its inputs once its axis attributes are permuted: the inputs of the output's rank
may stay transposed (elementwise ops, reductions, ops along an axis, per-axis pads and slices)."""

DATA_FORMAT = "data_format"
"""Takes a `data_format` attribute ("channels_last" or "channels_first") and computes the same in either."""

RESHAPE = "reshape"
"""Only changes the shape: the output holds the input's elements in the same order (reshape, squeeze, expand_dims)."""

SHAPE_ONLY = "shape_only"
"""Reads only its inputs' static shapes, never their values, so it folds to a constant once they are static."""

INFERENCE_IDENTITY = "inference_identity"
"""Returns its first input unchanged outside training (dropout, gradient stops): inference graphs drop it."""

RANDOM = "random"
"""Draws random numbers: never folded, never deduplicated, dropped at inference where it is training-only."""

HAS_STATE = "has_state"
"""Reads or writes state beyond its inputs: never folded, never deduplicated."""

ALL = frozenset({ELEMENTWISE, COMMUTATIVE, REDUCTION, LAYOUT_TRANSPARENT, DATA_FORMAT, RESHAPE, SHAPE_ONLY,
                 INFERENCE_IDENTITY, RANDOM, HAS_STATE})
