"""LambdaCallback: a callback made of plain functions, one per hook."""

from __future__ import annotations

from kgraph.callbacks.batch_hooks import keep_fused
from kgraph.callbacks.callback import Callback

_ALIASES = {"on_batch_begin": "on_train_batch_begin", "on_batch_end": "on_train_batch_end"}


class LambdaCallback(Callback):
    """Calls the given functions at their hooks.

    `on_epoch_begin(epoch, logs)`, `on_epoch_end(epoch, logs)`, `on_train_begin(logs)`,
    `on_train_end(logs)`, `on_train_batch_begin(batch, logs)`, `on_train_batch_end(batch, logs)`; any
    other hook by keyword (e.g. `on_test_end`, or Keras 2's `on_batch_end`). Without a batch function,
    fit keeps fusing batches.
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        hooks = {}
        for name, fn in {**given, **kwargs}.items():
            if fn is None:
                continue
            hook = _ALIASES.get(name, name)
            if not hasattr(Callback, hook):
                setattr(self, name, fn)  # not a hook: kept as an attribute, as Keras does
                continue
            hooks[hook] = fn
        self._hooks = hooks
        if not any(h.endswith(("_batch_begin", "_batch_end")) for h in hooks if "predict" not in h):
            keep_fused(self, LambdaCallback)


def _dispatch(hook: str):
    """A hook method calling the stored function with Keras' arguments: `(epoch or batch, logs)` or `(logs)`."""
    if hook.startswith("on_epoch_") or "_batch_" in hook:
        def method(self, index, logs=None):
            fn = self._hooks.get(hook)
            if fn is not None:
                fn(index, logs)
    else:
        def method(self, logs=None):
            fn = self._hooks.get(hook)
            if fn is not None:
                fn(logs)
    method.__name__ = hook
    return method


for _hook in ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
              "on_predict_begin", "on_predict_end", "on_train_batch_begin", "on_train_batch_end",
              "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end"):
    setattr(LambdaCallback, _hook, _dispatch(_hook))
