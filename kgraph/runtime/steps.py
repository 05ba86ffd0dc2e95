"""Compiles a per-batch step body into jitted executables that fetch their own batches on the device.

A step is `body(state, batch) -> state`; `finish(state)` reads what the caller wants back (the logs).
A call runs `count` consecutive batches, either as one executable with a device-side loop ("fused") or as
`count` dispatches of a one-batch executable ("single"). Which is faster depends on the model and the
backend (XLA's CPU backend runs convolution gradients several times slower inside a loop), so each
executable set measures both on real batches of the first epoch and keeps the faster: see `FusionChoice`.
State buffers are donated, so updates happen in place. Executables for the other batch sizes an epoch will
need are compiled on a background thread while the first ones run.
"""

from __future__ import annotations

import concurrent.futures
import time
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


def _specs(tree) -> object:
    return jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype), tree)


class FusionChoice:
    """Decides between fused and single-batch execution from timed runs on real batches.

    Fusing saves the per-call dispatch (about 0.1 ms on CPU), so it can only matter for fast steps. The first
    call of several batches runs single-batch and is timed (after one untimed batch); a step slower than
    `SLOW_STEP` stays single-batch for good, as fusing could gain at most a few percent and XLA may run the
    loop body slower. Faster steps start compiling the fused executable in the background; once it is
    ready, one fused batch runs untimed (warm-up) and probes of `PROBE` batches alternate between the two
    ways, each timed to completion; after `ROUNDS` probes of each, the lower best time per batch wins for
    the rest of the model's life. Nothing observable depends on the choice: both run the same step body on
    the same batches in the same order.
    """

    SLOW_STEP = 0.005
    PROBE = 8
    ROUNDS = 3

    def __init__(self):
        self.fuse: bool | None = None
        self.single_step: float | None = None
        self.warmed = False
        self.per_batch: dict[str, list[float]] = {"fused": [], "single": []}

    def way(self) -> str:
        if self.fuse is not None:
            return "fused" if self.fuse else "single"
        fused, single = self.per_batch["fused"], self.per_batch["single"]
        return "fused" if len(fused) <= len(single) else "single"

    def record(self, way: str, seconds: float, batches: int) -> None:
        self.per_batch[way].append(seconds / batches)
        if min(len(v) for v in self.per_batch.values()) >= self.ROUNDS:
            self.fuse = min(self.per_batch["fused"]) < min(self.per_batch["single"])

    def run(self, state, count: int, ways: dict[str, Callable], fused_ready: Callable[[], bool]):
        """Runs `count` batches, timing while undecided; `ways[w](state, offset, k) -> (state, extra)`.

        `fused_ready()` says whether the fused executable can run without waiting for its compilation (and
        starts that compilation the first time it is asked). Returns the final state and the list of
        extras, one per piece run.
        """
        if self.fuse is not None:
            state, extra = ways[self.way()](state, 0, count)
            return state, [extra]
        if self.single_step is None:
            return self._time_single(state, count, ways["single"])
        if not fused_ready():
            state, extra = ways["single"](state, 0, count)
            return state, [extra]
        extras, offset = [], 0
        if not self.warmed:
            state, extra = ways["fused"](state, 0, 1)
            extras.append(extra)
            offset, self.warmed = 1, True
        while offset < count:
            way = self.way()
            if self.fuse is not None:
                state, extra = ways[way](state, offset, count - offset)
                extras.append(extra)
                break
            k = min(self.PROBE, count - offset)
            state, extra, seconds = _timed(ways[way], state, offset, k)
            self.record(way, seconds, k)
            extras.append(extra)
            offset += k
        return state, extras

    def _time_single(self, state, count: int, single: Callable):
        state, first = single(state, 0, 1)
        if count < 3:
            rest = [single(state, 1, count - 1)] if count > 1 else []
            return (rest[0][0] if rest else state), [first] + [extra for _, extra in rest]
        state, extra, seconds = _timed(single, state, 1, count - 1)
        self.single_step = seconds / (count - 1)
        if self.single_step >= self.SLOW_STEP:
            self.fuse = False
        return state, [first, extra]


def _timed(way: Callable, state, offset: int, k: int):
    jax.block_until_ready(state)
    begin = time.perf_counter()
    state, extra = way(state, offset, k)
    jax.block_until_ready((state, extra))
    return state, extra, time.perf_counter() - begin


class _Compiled:
    """Executables keyed by batch size and dataset shapes, compiled ahead of time on the background thread."""

    def __init__(self, make: Callable[[int], Callable], extra_args: int):
        self.make = make
        self.extra_args = extra_args
        self._cache: dict[tuple, concurrent.futures.Future | Callable] = {}

    def prepare(self, args, size: int) -> None:
        key = _key(args[1], args[2], size)
        if key in self._cache:
            return
        specs = _specs(args) + (jax.ShapeDtypeStruct((), np.int32),) * self.extra_args
        jitted = self.make(size)
        self._cache[key] = _compiler.submit(lambda: jitted.lower(*specs).compile())

    def ready(self, args, size: int) -> bool:
        fn = self._cache.get(_key(args[1], args[2], size))
        return fn is not None and (not isinstance(fn, concurrent.futures.Future) or fn.done())

    def get(self, args, size: int) -> Callable:
        key = _key(args[1], args[2], size)
        fn = self._cache.get(key)
        if fn is None:
            fn = self._cache[key] = self.make(size)
        elif isinstance(fn, concurrent.futures.Future):
            fn = self._cache[key] = fn.result()
        return fn


class StepExecutables:
    """Compiled steps over one step body, fused or single as measured (see `FusionChoice`).

    `__call__(state, data, perm, start, size, count)` runs `count` batches of `size` starting at
    sample `start` of the permutation and returns `(new state, finish(new state))`.
    """

    def __init__(self, body: Callable, finish: Callable, donate: bool = True):
        self.body = body
        self.finish = finish
        self.donate = donate
        self.choice = FusionChoice()
        self._single = _Compiled(self._jit_single, 1)
        self._fused = _Compiled(self._jit_fused, 2)

    def __call__(self, state, data, perm, start: int, size: int, count: int = 1):
        args = (state, data, perm)
        if count == 1 or self.choice.fuse is False:
            return self._run_single(args, start, size, count)
        if self.choice.fuse:
            return self._fused.get(args, size)(*args, np.int32(start), np.int32(count))

        def fused_ready() -> bool:
            self._fused.prepare(args, size)
            return self._fused.ready(args, size)

        ways = {
            "fused": lambda st, offset, k: self._fused.get(args, size)(st, data, perm, np.int32(start + offset * size),
                                                                       np.int32(k)),
            "single": lambda st, offset, k: self._run_single((st, data, perm), start + offset * size, size, k),
        }
        state, logs = self.choice.run(state, count, ways, fused_ready)
        return state, logs[-1]

    def prepare(self, state, data, perm, size: int) -> None:
        """Starts compiling the single-batch executable for `size` in the background."""
        self._single.prepare((state, data, perm), size)

    def _run_single(self, args, start: int, size: int, count: int):
        state, data, perm = args
        fn = self._single.get(args, size)
        for i in range(count):
            state, logs = fn(state, data, perm, np.int32(start + i * size))
        return state, logs

    def _jit_single(self, size: int) -> Callable:
        body, finish = self.body, self.finish

        def run(state, data, perm, start):
            state = body(state, fetch(data, perm, start, size))
            return state, finish(state)

        return jax.jit(run, donate_argnums=(0,) if self.donate else ())

    def _jit_fused(self, size: int) -> Callable:
        body, finish = self.body, self.finish

        def run(state, data, perm, start, count):
            def loop_body(i, state):
                return body(state, fetch(data, perm, start + i * size, size))

            state = jax.lax.fori_loop(0, count, loop_body, state)
            return state, finish(state)

        return jax.jit(run, donate_argnums=(0,) if self.donate else ())


class PredictExecutables:
    """Compiled prediction: `body(params, batch) -> (carry, outputs)`, where the carry holds stateful layers'
    states and the PRNG key. A call over `count` batches runs fused (a device-side loop writing into one
    output buffer) or as `count` single-batch calls, as `FusionChoice` measured; the fused executable
    compiles on the background thread meanwhile."""

    def __init__(self, body: Callable):
        self.body = body
        self.choice = FusionChoice()
        self._single: dict[int, Callable] = {}
        self._fused: dict[tuple, concurrent.futures.Future | Callable] = {}

    def __call__(self, params, data, perm, start: int, size: int, count: int = 1, capacity: int = 1):
        """Returns (carry, chunks): a list of output lists, each output shaped (batches * size, ...).

        `capacity` is the most batches any call of this size will ask for (the fused buffer's length).
        """
        if count == 1 or self.choice.fuse is False:
            return self._run_single(params, data, perm, start, size, count)
        key = (size, capacity)

        def fused_ready() -> bool:
            if key not in self._fused:
                jitted = self._jit_fused(size, capacity)
                specs = _specs((params, data, perm)) + (jax.ShapeDtypeStruct((), np.int32),) * 2
                self._fused[key] = _compiler.submit(lambda: jitted.lower(*specs).compile())
            fn = self._fused[key]
            return not isinstance(fn, concurrent.futures.Future) or fn.done()

        def fused(p, offset, k):
            fn = self._fused.get(key)
            if fn is None:
                fn = self._fused[key] = self._jit_fused(size, capacity)
            elif isinstance(fn, concurrent.futures.Future):
                fn = self._fused[key] = fn.result()
            carry, outputs = fn(p, data, perm, np.int32(start + offset * size), np.int32(k))
            return {**p, "carry": carry}, [[o[:k * size] for o in outputs]]

        def single(p, offset, k):
            carry, chunks = self._run_single(p, data, perm, start + offset * size, size, k)
            return {**p, "carry": carry}, chunks

        params, pieces = self.choice.run(params, count, {"fused": fused, "single": single}, fused_ready)
        return params["carry"], [chunk for piece in pieces for chunk in piece]

    def _run_single(self, params, data, perm, start: int, size: int, count: int):
        fn = self._single.get(size)
        if fn is None:
            body = self.body

            def run(params, data, perm, start):
                carry, outputs = body(params, fetch(data, perm, start, size))
                return carry, jax.tree_util.tree_leaves(outputs)

            fn = self._single[size] = jax.jit(run)
        chunks = []
        carry = params["carry"]
        for i in range(count):
            carry, outputs = fn({**params, "carry": carry}, data, perm, np.int32(start + i * size))
            chunks.append(outputs)
        return carry, chunks

    def _jit_fused(self, size: int, capacity: int) -> Callable:
        body = self.body

        def run(params, data, perm, start, count):
            def one(carry, i):
                carry, outputs = body({**params, "carry": carry}, fetch(data, perm, start + i * size, size))
                return carry, jax.tree_util.tree_leaves(outputs)

            shapes = jax.eval_shape(one, params["carry"], start)[1]
            buffers = [jnp.zeros((capacity * size,) + s.shape[1:], s.dtype) for s in shapes]

            def loop_body(i, loop_state):
                carry, buffers = loop_state
                carry, outputs = one(carry, i)
                buffers = [jax.lax.dynamic_update_slice_in_dim(b, o, i * size, 0) for b, o in zip(buffers, outputs)]
                return carry, buffers

            return jax.lax.fori_loop(0, count, loop_body, (params["carry"], buffers))

        return jax.jit(run)


class BatchExecutables:
    """One compiled step over a batch fed from the host (streaming sources); jit retraces per batch shape."""

    def __init__(self, body: Callable, finish: Callable | None = None, donate: bool = True):
        def run(state, batch):
            new = body(state, batch)
            return (new, finish(new)) if finish is not None else new

        self._fn = jax.jit(run, donate_argnums=(0,) if donate else ())

    def __call__(self, state, batch):
        return self._fn(state, batch)
