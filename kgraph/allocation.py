"""A bound on the weights a model being loaded may allocate, so a hostile config cannot exhaust memory.

While a file is loaded, every weight a layer creates must fit in the bytes of weights the file actually holds:
a `Dense(units=2**40)` declared in a 1 KB archive is refused before its kernel is allocated.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from typing import Iterator

import numpy as np

_limit: contextvars.ContextVar[tuple[int, str] | None] = contextvars.ContextVar("kgraph_allocation_limit", default=None)


@contextlib.contextmanager
def weights_bounded_by(max_bytes: int, source: str) -> Iterator[None]:
    """Within the block, a weight larger than `max_bytes` (the weights `source` holds) is a ValueError."""
    token = _limit.set((int(max_bytes), source))
    try:
        yield
    finally:
        _limit.reset(token)


def check_weight(owner: str, name: str | None, shape: tuple, dtype) -> None:
    """Refuses a weight the file being loaded cannot hold, naming the layer, the weight, its shape and the file."""
    bound = _limit.get()
    if bound is None:
        return
    max_bytes, source = bound
    nbytes = math.prod(int(d) for d in shape) * np.dtype(dtype).itemsize
    if nbytes > max_bytes:
        raise ValueError(f"{owner}: weight {name!r} is declared with shape {tuple(shape)} ({nbytes:,} bytes), but "
                         f"{source} holds only {max_bytes:,} bytes of weights; its config does not match its weights "
                         "(a corrupt or hostile file)")
