"""Attention ops: the causal mask, whose size is only known when the sequence lengths are."""

from __future__ import annotations

from kgraph.ir.registry import ShapeError, register
from kgraph.ir.traits import SHAPE_ONLY
from kgraph.ir.types import TensorType


def _causal_mask(types):
    (x,) = types
    if x.rank < 2:
        raise ShapeError(f"causal_mask needs an input of rank >= 2 whose last two dims are (T, S), got {x}")
    return [TensorType("bool", x.shape[-2:])]


register("causal_mask", _causal_mask, num_inputs=1, traits=(SHAPE_ONLY,),
         doc="bool[T, S], true where column <= row, for (T, S) the last two dims of the input")
