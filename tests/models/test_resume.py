"""Snapshots of fit's whole state (mid-epoch and at epoch end) resume to exactly the uninterrupted result."""

import numpy as np
import pytest

import kgraph

rng = np.random.default_rng(0)
X = rng.random((200, 6), dtype=np.float32)
Y = rng.integers(0, 3, 200)


def make():
    kgraph.utils.set_random_seed(11)
    inputs = kgraph.Input(shape=(6,))
    h = kgraph.layers.Dropout(0.3)(kgraph.layers.Dense(16, activation="relu")(inputs))
    model = kgraph.Model(inputs, kgraph.layers.Dense(3, activation="softmax")(h))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Snapshot(kgraph.callbacks.Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.snapshot = (epoch, batch), None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            self.snapshot = self.model.get_training_state()
            self.model.stop_training = True


class Resume(kgraph.callbacks.Callback):
    def __init__(self, snapshot):
        super().__init__()
        self.snapshot = snapshot

    def on_train_begin(self, logs=None):
        self.model.resume_training_from(self.snapshot)


@pytest.mark.parametrize("stop_at", [(1, 3), (0, 0), (2, 6)])
def test_resume_mid_epoch_matches_uninterrupted_run(stop_at):
    reference = make()
    ref_history = reference.fit(X, Y, batch_size=32, epochs=3, verbose=0, callbacks=[kgraph.callbacks.Callback()])
    interrupted = make()
    snap = Snapshot(*stop_at)
    interrupted.fit(X, Y, batch_size=32, epochs=3, verbose=0, callbacks=[snap])
    assert snap.snapshot["epoch"] == stop_at[0] and snap.snapshot["step"] == stop_at[1] + 1
    resumed = make()
    history = resumed.fit(X, Y, batch_size=32, epochs=3, verbose=0, callbacks=[Resume(snap.snapshot), kgraph.callbacks.Callback()])
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history.history["loss"][-1] == ref_history.history["loss"][-1]
