"""Writers that loop forever, alternating two versions of a file, for the SIGKILL tests.

They run in processes forked from a server that has already imported kgraph's modules (importing them starts
no JAX backend, so forking is safe), so each kill costs a fork and a tiny model, not an interpreter start.
Version v of every file holds weights filled with the value v.
"""

from __future__ import annotations

import itertools
import os

import numpy as np

import kgraph
import kgraph.callbacks  # noqa: F401  (loaded before the fork server forks)
import kgraph.export  # noqa: F401
import kgraph.layers  # noqa: F401
import kgraph.models  # noqa: F401
import kgraph.saving  # noqa: F401

VERSIONS = (0.0, 1.0)


def tiny_model(fill: float | None = None):
    inputs = kgraph.Input((3,), name="x")
    model = kgraph.Model(inputs, kgraph.layers.Dense(2, name="dense")(inputs), name="tiny")
    model.compile(optimizer="sgd", loss="mse")
    if fill is not None:
        set_version(model, fill)
    return model


def set_version(model, fill: float) -> None:
    model.set_weights([np.full(w.shape, fill, "float32") for w in model.get_weights()])


def version_of(weights: list) -> float:
    """The version a set of weights was written as; anything else (a mix, garbage) is an error."""
    values = np.unique(np.concatenate([np.ravel(w) for w in weights]))
    assert len(values) == 1 and float(values[0]) in VERSIONS, f"weights are not one written version: {values}"
    return float(values[0])


def _write_loop(model, write, ready) -> None:
    ready.set()
    for fill in itertools.cycle(VERSIONS):
        set_version(model, fill)
        write(model)


def save(path: str, ready) -> None:
    _write_loop(tiny_model(), lambda m: m.save(path), ready)


def save_weights(path: str, ready) -> None:
    _write_loop(tiny_model(), lambda m: m.save_weights(path), ready)


def export(path: str, ready) -> None:
    _write_loop(tiny_model(), lambda m: m.export(path), ready)


def checkpoint(path: str, ready) -> None:
    model = tiny_model()
    callback = kgraph.callbacks.ModelCheckpoint(path)
    callback.set_model(model)
    epochs = itertools.count()
    _write_loop(model, lambda m: callback.on_epoch_end(next(epochs), logs={"loss": 1.0}), ready)


class _Ready(kgraph.callbacks.Callback):
    def __init__(self, ready):
        super().__init__()
        self.ready = ready

    def on_epoch_end(self, epoch, logs=None):
        self.ready.set()


def backup(path: str, ready) -> None:
    """Trains with a backup written every epoch until killed."""
    model = tiny_model(0.0)
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 2), "float32")
    model.fit(x, y, batch_size=4, epochs=10**6, verbose=0,
              callbacks=[kgraph.callbacks.BackupAndRestore(path), _Ready(ready)])


def leftovers(directory: str) -> list[str]:
    """Names in `directory` that are not a finished file a writer meant to leave."""
    return sorted(n for n in os.listdir(directory) if n.startswith((".tmp", "tmp")) or ".tmp" in n)
