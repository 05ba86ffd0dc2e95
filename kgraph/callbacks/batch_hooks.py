"""Lets a callback whose batch hooks have nothing to do in its configuration keep `fit`'s fused loop.

`fit` runs 32 batches per compiled call unless some callback's class overrides a batch hook. A callback
such as ModelCheckpoint needs `on_train_batch_end` only with an integer `save_freq`; with "epoch" it is
given a subclass (same name, same behaviour) whose batch hooks are the base class's no-ops again.
"""

from __future__ import annotations

from kgraph.callbacks.callback import Callback

BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end",
               "on_test_batch_begin", "on_test_batch_end")
_epoch_only: dict[type, type] = {}


def keep_fused(callback: Callback, cls: type) -> None:
    """Resets `callback`'s batch hooks to no-ops, if it is exactly a `cls` (a user's subclass keeps them)."""
    if type(callback) is not cls:
        return
    variant = _epoch_only.get(cls)
    if variant is None:
        hooks = {hook: getattr(Callback, hook) for hook in BATCH_HOOKS}
        variant = type(cls.__name__, (cls,), {**hooks, "__module__": cls.__module__, "__qualname__": cls.__qualname__,
                                             "__doc__": cls.__doc__})
        _epoch_only[cls] = variant
    callback.__class__ = variant
