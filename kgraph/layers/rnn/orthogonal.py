"""The Orthogonal initializer, the default of Keras' recurrent kernels, and initializer lookup that knows it."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from kgraph import config, initializers
from kgraph import random as kg_random
from kgraph.ir.types import canonical_dtype

_NAMES = ("orthogonal", "Orthogonal", "OrthogonalInitializer")


class Orthogonal(initializers.Initializer):
    """A (semi-)orthogonal matrix from the QR decomposition of a standard normal draw, scaled by `gain`, as Keras'.

    Args:
        gain: the scale of the matrix.
        seed: an int making the draw reproducible.
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain = gain
        self.seed = seed

    def __call__(self, shape, dtype=None):
        rows, cols = math.prod(shape[:-1]), shape[-1]
        rng = np.random.default_rng(kg_random.next_seed() if self.seed is None else self.seed)
        q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(jnp.dtype(canonical_dtype(dtype or config.floatx())))

    def get_config(self) -> dict:
        return {"gain": self.gain, "seed": self.seed}


def get_initializer(identifier) -> initializers.Initializer:
    """`kgraph.initializers.get`, plus "orthogonal" (as a name or a config dict)."""
    if isinstance(identifier, str) and identifier in _NAMES:
        return Orthogonal()
    if isinstance(identifier, dict) and identifier.get("class_name") in _NAMES:
        return Orthogonal(**identifier.get("config", {}))
    return initializers.get(identifier)
