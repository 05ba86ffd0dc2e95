"""The session's name counters, shared by layers, models and optimizers as Keras shares them."""

from __future__ import annotations

import collections

_uids: collections.Counter = collections.Counter()


def get_uid(prefix: str = "") -> int:
    """The next number for `prefix` in this session, from 1: `get_uid("dense")` gives 1, then 2, ..."""
    _uids[prefix] += 1
    return _uids[prefix]


def reset_uids() -> None:
    """Starts every prefix's count again (`clear_session`)."""
    _uids.clear()
