"""Compiles a per-batch step body into jitted executables that fetch their own batches on the device.

A step is `body(state, batch) -> state`; `finish(state)` reads what the caller wants back (the logs).
A call runs `count` consecutive batches of its data (a window of samples), either as one executable with a
device-side loop ("fused") or as `count` dispatches of a one-batch executable ("single"). XLA's CPU backend
runs some step bodies several times slower inside a loop (convolutions, loops of their own), so each
executable set looks at its step's jaxpr once and keeps one way for good: see `loops_well`. The body is its
own `jax.jit`, so its trace is made once and reused by the single and the fused executable (XLA inlines it).
State buffers are donated, so updates happen in place. Executables for the other batch sizes an epoch will
need are compiled on a background thread while the first ones run.
"""

from __future__ import annotations

import concurrent.futures
import warnings
from typing import Callable

import jax
import jax.extend.core as jax_core
import jax.numpy as jnp
import numpy as np

from kgraph.runtime.data_adapter import fetch

warnings.filterwarnings("ignore", message="Some donated buffers were not usable")
_compiler = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="kgraph-compile")

# Primitives whose gradients XLA's CPU backend runs several times slower in a device loop than in one call per
# batch.
SLOW_GRADIENTS_IN_LOOPS = frozenset({"conv_general_dilated"})


def loops_well(jaxpr) -> bool:
    """Whether a training step runs as fast inside a device loop as dispatched once per batch.

    Measured on XLA's CPU backend, fused and single-batch models alternating in one process: a loop saves
    the per-call dispatch and runs dense, attention and recurrent training steps as fast or faster (the
    transformer block 1.7x, the MLP 1.3x, LSTM, GRU and SimpleRNN 2-5%), but a step that differentiates
    convolutions runs several times slower in it (the MNIST convnet: 5 against 40 steps/s). Forward-only
    steps (evaluate, predict) run at least as fast in a loop, convolutions included.
    """
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in SLOW_GRADIENTS_IN_LOOPS:
            return False
        if not all(loops_well(sub) for sub in jax_core.jaxprs_in_params(eqn.params)):
            return False
    return True


def _key(data, perm, size: int) -> tuple:
    """What an ahead-of-time compiled executable is specialized to: the batch size and its data's shapes."""
    return (size, tuple(np.shape(a) for a in jax.tree_util.tree_leaves((data, perm))))


def _specs(tree) -> object:
    return jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype), tree)


_INDEX = jax.ShapeDtypeStruct((), np.int32)


def _rows(data) -> int:
    """Samples in a call's data (its arrays share their first dimension)."""
    return np.shape(jax.tree_util.tree_leaves(data)[0])[0]


class _Compiled:
    """Executables keyed by batch size and dataset shapes; others than the first compile ahead of time on the
    background thread, the first through `jax.jit` itself (its C++ dispatch path)."""

    def __init__(self, make: Callable[[int], Callable], extra_args: int):
        self.make = make
        self.extra_args = extra_args
        self._jitted: dict[int, Callable] = {}
        self._cache: dict[tuple, concurrent.futures.Future | Callable] = {}

    def jitted(self, size: int) -> Callable:
        if size not in self._jitted:
            self._jitted[size] = self.make(size)
        return self._jitted[size]

    def specs(self, args) -> tuple:
        return _specs(args) + (_INDEX,) * self.extra_args

    def prepare(self, args, size: int) -> None:
        key = _key(args[1], args[2], size)
        if key in self._cache:
            return
        specs, jitted = self.specs(args), self.jitted(size)
        self._cache[key] = _compiler.submit(lambda: jitted.lower(*specs).compile())

    def get(self, args, size: int) -> Callable:
        key = _key(args[1], args[2], size)
        fn = self._cache.get(key)
        if fn is None:
            fn = self._cache[key] = self.jitted(size)
        elif isinstance(fn, concurrent.futures.Future):
            fn = self._cache[key] = fn.result()
        return fn


class StepExecutables:
    """Compiled steps over one step body: fused, unless a training body runs badly in a device loop (see
    `loops_well`).

    `__call__(state, data, perm, start, size, count)` runs `count` batches of `size` starting at
    sample `start` of the permutation and returns `(new state, finish(new state))`.

    Args:
        training: the body trains: its state is donated (updated in place) and whether it runs fused is
            decided from its jaxpr. Other bodies (evaluation) always run fused.
    """

    def __init__(self, body: Callable, finish: Callable, training: bool = True):
        self.body = jax.jit(body)
        self.finish = finish
        self.donate = training
        self.fuse: bool | None = None if training else True
        self._single = _Compiled(self._jit_single, 1)
        self._fused = _Compiled(self._jit_fused, 2)

    def __call__(self, state, data, perm, start: int, size: int, count: int = 1):
        args = (state, data, perm)
        if self._loops(args, size):
            return self._fused.get(args, size)(*args, np.int32(start), np.int32(count))
        return self._run_single(args, start, size, count)

    def prepare(self, state, data, perm, size: int) -> None:
        """Starts compiling, in the background, the executable that calls of batches of `size` will run."""
        args = (state, data, perm)
        (self._fused if self._loops(args, size) else self._single).prepare(args, size)

    def _loops(self, args, size: int) -> bool:
        """Whether calls on this data run the fused executable: it holds more than one batch and the step runs
        well in a loop. Every call on data of one shape runs one executable, however many batches it asks for."""
        return _rows(args[1]) > size and self._fuses(args, size)

    def _fuses(self, args, size: int) -> bool:
        """Decides once, from the single step's jaxpr: jit reuses that trace when it compiles the single step,
        and the fused step reuses the body's."""
        if self.fuse is None:
            traced = self._single.jitted(size).trace(*self._single.specs(args))
            self.fuse = loops_well(traced.jaxpr.jaxpr)
        return self.fuse

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
    states and the PRNG key. A call over `count` batches of data holding more than one batch runs fused (a
    device-side loop writing into one output buffer; forward steps run well in one, see `loops_well`), and
    a call on a single batch's data as one single-batch call (`fuse = False` makes every call single)."""

    def __init__(self, body: Callable):
        self.body = jax.jit(body)
        self.fuse = True
        self._single: dict[int, Callable] = {}
        self._fused: dict[tuple, Callable] = {}

    def __call__(self, params, data, perm, start: int, size: int, count: int = 1, capacity: int = 1):
        """Returns (carry, chunks): a list of output lists, each output shaped (batches * size, ...).

        `capacity` is the most batches any call of this size will ask for (the fused buffer's length).
        """
        if _rows(data) == size or not self.fuse:
            return self._run_single(params, data, perm, start, size, count)
        if (size, capacity) not in self._fused:
            self._fused[(size, capacity)] = self._jit_fused(size, capacity)
        carry, outputs = self._fused[(size, capacity)](params, data, perm, np.int32(start), np.int32(count))
        return carry, [[o[:count * size] for o in outputs]]

    def _jit_single(self, size: int) -> Callable:
        if size not in self._single:
            body = self.body

            def run(params, data, perm, start):
                carry, outputs = body(params, fetch(data, perm, start, size))
                return carry, jax.tree_util.tree_leaves(outputs)

            self._single[size] = jax.jit(run)
        return self._single[size]

    def _run_single(self, params, data, perm, start: int, size: int, count: int):
        fn = self._jit_single(size)
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
