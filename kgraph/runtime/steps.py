"""Compiles a per-batch step body into jitted executables that fetch their own batches on the device.

A step is `body(state, batch) -> state`; `finish(state)` reads what the caller wants back (the logs).
One executable per batch size runs any number of consecutive batches in a device-side loop
(`steps_per_execution`, or more when no callback looks at single batches), donating the state buffers
so updates happen in place. Executables for the other batch sizes an epoch will need are compiled on a
background thread while the first ones run.
"""

from __future__ import annotations

import concurrent.futures
import warnings
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from kgraph.runtime.data_adapter import fetch

warnings.filterwarnings("ignore", message="Some donated buffers were not usable")
_compiler = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="kgraph-compile")


def _key(data, perm, size: int) -> tuple:
    """What an ahead-of-time compiled loop is specialized to: the batch size and the dataset's shapes."""
    return (size, tuple(np.shape(a) for a in jax.tree_util.tree_leaves((data, perm))))


class StepExecutables:
    """A cache of compiled loops over one step body, keyed by batch size.

    `__call__(state, data, perm, start, size, count)` runs `count` batches of `size` starting at
    sample `start` of the permutation and returns `(new state, finish(new state))`.
    """

    def __init__(self, body: Callable, finish: Callable, donate: bool = True):
        self.body = body
        self.finish = finish
        self.donate = donate
        self._cache: dict[tuple, concurrent.futures.Future | Callable] = {}

    def __call__(self, state, data, perm, start: int, size: int, count: int = 1):
        key = _key(data, perm, size)
        fn = self._cache.get(key)
        if fn is None:
            fn = self._cache[key] = self._jit(size)
        elif isinstance(fn, concurrent.futures.Future):
            fn = self._cache[key] = fn.result()
        return fn(state, data, perm, np.int32(start), np.int32(count))

    def prepare(self, state, data, perm, size: int) -> None:
        """Starts compiling the executable for `size` in the background (no-op if it exists)."""
        key = _key(data, perm, size)
        if key in self._cache:
            return
        specs = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), (state, data, perm))
        scalar = jax.ShapeDtypeStruct((), np.int32)
        jitted = self._jit(size)
        self._cache[key] = _compiler.submit(lambda: jitted.lower(*specs, scalar, scalar).compile())

    def _jit(self, size: int) -> Callable:
        body, finish = self.body, self.finish

        def run(state, data, perm, start, count):
            def loop_body(i, state):
                return body(state, fetch(data, perm, start + i * size, size))

            state = jax.lax.fori_loop(0, count, loop_body, state)
            return state, finish(state)

        return jax.jit(run, donate_argnums=(0,) if self.donate else ())


class PredictExecutables:
    """Compiled prediction over `count` batches of one size: `body(params, batch) -> (carry, outputs)` runs in a
    device-side loop that carries `params["carry"]` (stateful layers' states, the PRNG key) and stacks the outputs."""

    def __init__(self, body: Callable):
        self.body = body
        self._cache: dict[tuple[int, int], Callable] = {}

    def __call__(self, params, data, perm, start: int, size: int, count: int = 1):
        key = (size, count)
        fn = self._cache.get(key)
        if fn is None:
            body = self.body

            def run(params, data, perm, start):
                def scan_body(carry, i):
                    return body({**params, "carry": carry}, fetch(data, perm, start + i * size, size))

                return jax.lax.scan(scan_body, params["carry"], jnp.arange(count, dtype=jnp.int32))

            fn = self._cache[key] = jax.jit(run)
        return fn(params, data, perm, np.int32(start))


class BatchExecutables:
    """One compiled step over a batch fed from the host (streaming sources); jit retraces per batch shape."""

    def __init__(self, body: Callable, finish: Callable | None = None, donate: bool = True):
        def run(state, batch):
            new = body(state, batch)
            return (new, finish(new)) if finish is not None else new

        self._fn = jax.jit(run, donate_argnums=(0,) if donate else ())

    def __call__(self, state, batch):
        return self._fn(state, batch)
