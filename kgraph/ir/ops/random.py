"""Random ops. Each takes the graph's PRNG key as its last input and folds in its own `seed`."""

from __future__ import annotations

from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.traits import INFERENCE_IDENTITY
from kgraph.ir.types import is_float


def _dropout(types, rate, seed, noise_shape):
    x, key = types
    if not is_float(x.dtype):
        raise ShapeError(f"dropout needs a floating-point input, got {x.dtype}")
    if key.dtype != "uint32" or key.shape != (2,):
        raise ShapeError(f"dropout needs a uint32[2] PRNG key, got {key}")
    if not 0.0 <= rate < 1.0:
        raise ShapeError(f"dropout rate must be in [0, 1), got {rate}")
    return [x]


register("dropout", _dropout, attrs={"rate": REQUIRED, "seed": REQUIRED, "noise_shape": None}, num_inputs=2,
         random=True, traits=(INFERENCE_IDENTITY,), doc="inverted dropout: zero with probability rate, scale the rest by 1/(1-rate)")
