"""Model-level parity with Keras 3 for a layer: one compiled training step, and a `.keras` file Keras saved."""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np

import kgraph


def model_pair(build: Callable) -> tuple:
    """`build(lib)` (a Model of lib = kgraph or keras) in both libraries, with Keras' weights copied into kgraph's."""
    theirs, ours = build(keras), build(kgraph)
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def assert_train_step_matches(build: Callable, x, y, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """One `train_on_batch` with SGD and MSE gives the same loss and the same weights (trainable and not)."""
    ours, theirs = model_pair(build)
    for model, lib in ((ours, kgraph), (theirs, keras)):
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
    np.testing.assert_allclose(ours.train_on_batch(x, y), theirs.train_on_batch(x, y), rtol=rtol, atol=atol,
                               err_msg="train_on_batch loss")
    for a, b, w in zip(ours.get_weights(), theirs.get_weights(), theirs.weights):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"after one step: {w.path}")


def assert_keras_file_loads(build: Callable, x, folder, rtol: float = 1e-5, atol: float = 1e-6,
                            paths: bool = True) -> kgraph.Model:
    """A `.keras` file Keras saved loads in kgraph with Keras' weight names (and paths, unless `paths` is False:
    kgraph's recurrent cells name their weights `<cell>/<weight>`, without the RNN layer's name), and predicts as
    Keras does."""
    theirs = build(keras)
    path = str(folder / "keras_saved.keras")
    theirs.save(path)
    ours = kgraph.saving.load_model(path)
    key = (lambda w: w.path) if paths else (lambda w: w.name)
    assert [key(w) for w in ours.weights] == [key(w) for w in theirs.weights]
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=rtol, atol=atol,
                               err_msg="predictions of the loaded .keras file")
    return ours
