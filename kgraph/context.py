"""The call context: the one per-thread record of what an op or a layer call is running under.

Layer code runs in three modes and must not care which: *eager* on concrete arrays, *tracing* (recording IR
into a `Trace`), and *compiled* (inside a jitted step, where Variables read and write a `StateScope`). The
context also carries the training flag of the enclosing layer calls and the PRNG key of a compiled custom step.
Everything that used to keep its own thread-local reads this record instead.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator


@dataclass
class CallContext:
    """What is active on this thread, innermost last.

    Attributes:
        traces: graph traces being recorded.
        state_scopes: variable-state scopes of the compiled steps being built.
        training: the `training` flag of each enclosing layer call (None where it was not given).
        step_key: the PRNG key of the compiled custom step being traced, if any.
        step_seeds: `(program, seeds)`: the random ops' seeds of the program that step runs, as step data.
        name_scopes: the open `kgraph.name_scope`s, which prefix the paths of variables created inside them.
        autocast: the dtypes floating variable reads are cast to in the enclosing mixed-precision layer calls.
        compute_dtype: the compute dtype every layer is forced to (an export's `dtype`), or None.
        symbolic_scopes: the open `kgraph.SymbolicScope`s (shape and dtype inference on KerasTensors).
        remat_scopes: the open `kgraph.RematScope`s; layers created inside one take its mode.
    """

    traces: list = field(default_factory=list)
    state_scopes: list = field(default_factory=list)
    training: list = field(default_factory=list)
    step_key: Any = None
    step_seeds: tuple | None = None
    name_scopes: list = field(default_factory=list)
    autocast: list = field(default_factory=list)
    compute_dtype: str | None = None
    symbolic_scopes: list = field(default_factory=list)
    remat_scopes: list = field(default_factory=list)

    @property
    def trace(self):
        """The innermost trace, or None when not tracing."""
        return self.traces[-1] if self.traces else None

    @property
    def state_scope(self):
        """The innermost state scope, or None outside compiled steps."""
        return self.state_scopes[-1] if self.state_scopes else None

    @property
    def mode(self) -> str:
        """"compiled" inside a step's state scope, "tracing" while recording IR, else "eager"."""
        if self.state_scopes:
            return "compiled"
        return "tracing" if self.traces else "eager"

    @contextlib.contextmanager
    def pushed(self, stack: str, item) -> Iterator[Any]:
        """Pushes `item` on the named stack (`traces`, `state_scopes`, `training`) for the block's duration."""
        entries = getattr(self, stack)
        entries.append(item)
        try:
            yield item
        finally:
            entries.pop()

    @contextlib.contextmanager
    def step_rng(self, key, program=None, seeds=None) -> Iterator[None]:
        """Random layers called inside the block draw from `key` (a compiled step's own key); `program`, when
        run inside it, takes its random ops' seeds from `seeds` (an argument of the step, not constants)."""
        previous = self.step_key, self.step_seeds
        self.step_key, self.step_seeds = key, (program, seeds) if program is not None else None
        try:
            yield
        finally:
            self.step_key, self.step_seeds = previous


_local = threading.local()


def current() -> CallContext:
    """This thread's call context."""
    ctx = getattr(_local, "context", None)
    if ctx is None:
        ctx = _local.context = CallContext()
    return ctx
