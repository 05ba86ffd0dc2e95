"""CallbackList: fans each hook out to every callback, adding History and the progress bar as Keras does."""

from __future__ import annotations

from kgraph.callbacks.callback import Callback
from kgraph.callbacks.history import History
from kgraph.callbacks.progbar_logger import ProgbarLogger

_HOOKS = [
    "on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
    "on_predict_begin", "on_predict_end", "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
    "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end",
]


class CallbackList(Callback):
    """Calls each hook on every callback in order.

    Args:
        callbacks: the user's callbacks.
        add_history: append a History callback (if none is given) — `fit` returns it.
        add_progbar: append a ProgbarLogger (if none is given).
        model: the model the callbacks observe.
        **params: `verbose`, `epochs`, `steps`, handed to each callback's `set_params`.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = [callbacks] if isinstance(callbacks, Callback) else list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"`callbacks` must be a list of keras.callbacks.Callback instances, got {cb!r} "
                                f"(of type {type(cb).__name__})")
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if add_history and self.history is None:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def set_params(self, params: dict) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def set_model(self, model) -> None:
        self._model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)


def _fan_out(hook: str):
    """Calls `hook` on each callback with Keras' arguments: `(epoch or batch, logs)` or `(logs)`, logs positional.

    As in Keras, where the base `on_train_batch_*` hooks delegate to `on_batch_*`, a callback that overrides
    only the Keras 2 alias gets it called instead.
    """
    alias = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}.get(hook)

    def target(cb):
        cls = type(cb)
        if alias and getattr(cls, hook) is getattr(Callback, hook) and getattr(cls, alias) is not getattr(Callback, alias):
            return getattr(cb, alias)
        return getattr(cb, hook)

    if hook.startswith("on_epoch_") or "_batch_" in hook:
        def method(self, index, logs=None):
            for cb in self.callbacks:
                target(cb)(index, logs)
    else:
        def method(self, logs=None):
            for cb in self.callbacks:
                target(cb)(logs)

    method.__name__ = hook
    return method


for _hook in _HOOKS:
    setattr(CallbackList, _hook, _fan_out(_hook))
