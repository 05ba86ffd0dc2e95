"""Compiles a per-batch step body into jitted executables that fetch their own batches on the device.

A body is `body(state, batch) -> (state, out)`. Each executable runs `fused` consecutive batches
(`steps_per_execution`) with `lax.scan`, donating the state buffers so updates happen in place.
"""

from __future__ import annotations

import warnings
from typing import Callable

import jax
import jax.numpy as jnp

from kgraph.runtime.data_adapter import fetch

warnings.filterwarnings("ignore", message="Some donated buffers were not usable")


class StepExecutables:
    """A cache of jitted executables for one body, keyed by (batch size, batches fused)."""

    def __init__(self, body: Callable, donate: bool = True, stack_outputs: bool = False):
        self.body = body
        self.donate = donate
        self.stack_outputs = stack_outputs
        self._cache: dict[tuple[int, int], Callable] = {}

    def __call__(self, state, data, perm, start: int, size: int, fused: int = 1):
        key = (size, fused)
        fn = self._cache.get(key)
        if fn is None:
            fn = self._cache[key] = self._compile(size, fused)
        return fn(state, data, perm, jnp.int32(start))

    def _compile(self, size: int, fused: int) -> Callable:
        body = self.body

        def one(state, data, perm, start):
            return body(state, fetch(data, perm, start, size))

        if fused == 1:
            run = one
        else:
            def run(state, data, perm, start):
                def scan_body(state, i):
                    return one(state, data, perm, start + i * size)

                state, outs = jax.lax.scan(scan_body, state, jnp.arange(fused, dtype=jnp.int32))
                if self.stack_outputs:
                    return state, outs
                return state, jax.tree_util.tree_map(lambda o: o[-1], outs)

        return jax.jit(run, donate_argnums=(0,) if self.donate else ())
