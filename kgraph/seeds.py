"""The global seed that initializers, Dropout and `fit` draw their randomness from.

It sits below everything that draws (initializers, layers, `kgraph.random`), so none of them imports another
to reach it; `kgraph.random.set_seed` and `kgraph.utils.set_random_seed` set it.
"""

from __future__ import annotations

import os
import random as _pyrandom

import jax
import numpy as np

_state = {"seed": int.from_bytes(os.urandom(4), "little"), "count": 0}


def set_seed(seed: int) -> None:
    """Makes every later draw (weights, dropout masks, shuffling) a function of `seed`."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    _state["seed"], _state["count"] = int(seed), 0
    _pyrandom.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def next_seed() -> int:
    """A fresh integer seed, deterministic after `set_seed`."""
    _state["count"] += 1
    return int(np.random.default_rng([_state["seed"] % 2**32, _state["count"]]).integers(0, 2**31 - 1))


def key(seed: int | None = None):
    """A raw uint32[2] PRNG key from `seed` (a fresh one when None)."""
    seed = next_seed() if seed is None else int(seed)
    if jax.config.jax_default_prng_impl == "threefry2x32" and 0 <= seed < 2**31:
        # Threefry's key for a non-negative int32 seed is (0, seed): made on the host, it costs no compilation.
        return jax.device_put(np.array([0, seed], np.uint32))
    return jax.random.key_data(jax.random.key(seed))
