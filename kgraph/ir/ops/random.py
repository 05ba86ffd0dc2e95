"""Random ops. Each takes the graph's PRNG key as its last input and folds in its own `seed`."""

from __future__ import annotations

from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.traits import INFERENCE_IDENTITY
from kgraph.ir.ops.dims import shape_of_exprs
from kgraph.ir.types import TensorType, canonical_dtype, is_float


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


DISTRIBUTIONS = {"normal": ("mean", "stddev"), "truncated_normal": ("mean", "stddev"),
                 "uniform": ("minval", "maxval"), "randint": ("minval", "maxval")}


def _random_sample(types, distribution, shape, dtype, low, high, seed):
    key, *refs = types
    if key.dtype != "uint32" or key.shape != (2,):
        raise ShapeError(f"random_sample needs a uint32[2] PRNG key first, got {key}")
    if distribution not in DISTRIBUTIONS:
        raise ShapeError(f"random_sample: distribution must be one of {sorted(DISTRIBUTIONS)}, got {distribution!r}")
    dtype = canonical_dtype(dtype)
    if (distribution == "randint") == is_float(dtype):
        kind = "an integer" if distribution == "randint" else "a floating-point"
        raise ShapeError(f"random_sample: {distribution} draws {kind} dtype, got {dtype}")
    return [TensorType(dtype, shape_of_exprs(shape, [key, *refs], "random_sample"))]


register("random_sample", _random_sample,
         attrs={"distribution": REQUIRED, "shape": REQUIRED, "dtype": REQUIRED, "low": 0.0, "high": 1.0,
                "seed": None},
         random=True,
         doc="samples of a distribution ('normal'/'truncated_normal': low=mean, high=stddev; 'uniform'/'randint': "
             "[low, high)) drawn with the key input (seed folded in unless None); the shape's dim expressions read "
             "the inputs after the key")
