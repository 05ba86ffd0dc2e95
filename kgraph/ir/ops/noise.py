"""Noise ops for training graphs. Like dropout, each takes the graph's PRNG key last and folds in its `seed`."""

from __future__ import annotations

from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.types import is_float


def _random_normal_like(types, mean, stddev, seed):
    x, key = types
    if not is_float(x.dtype):
        raise ShapeError(f"random_normal_like needs a floating-point input, got {x.dtype}")
    if key.dtype != "uint32" or key.shape != (2,):
        raise ShapeError(f"random_normal_like needs a uint32[2] PRNG key, got {key}")
    if stddev < 0:
        raise ShapeError(f"random_normal_like: stddev must be >= 0, got {stddev}")
    return [x]


register("random_normal_like", _random_normal_like, attrs={"mean": 0.0, "stddev": 1.0, "seed": REQUIRED},
         num_inputs=2, random=True, doc="normal samples of x's shape and dtype: mean + stddev * N(0, 1)")
