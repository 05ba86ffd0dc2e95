"""History: records each epoch's logs; `fit` returns it."""

from __future__ import annotations

from kgraph.callbacks.callback import Callback


class History(Callback):
    """`history.history[key]` lists the value of `key` at the end of each epoch."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self
