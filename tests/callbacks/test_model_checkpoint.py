"""ModelCheckpoint in fit: batch-frequency saves see the live weights, files are replaced atomically, and
callbacks that only need epochs leave fit's fused loop alone."""

import os

import numpy as np
import pytest

import kgraph
from kgraph.callbacks import CallbackList
from kgraph.saving.file_io import atomic_write
from kgraph.models.training_loop import AUTO_FUSED_STEPS, TRAIN_BATCH_HOOKS, steps_per_call

rng = np.random.default_rng(0)
X = rng.normal(size=(80, 5)).astype("float32")
Y = rng.normal(size=(80, 1)).astype("float32")


def make_model():
    kgraph.utils.set_random_seed(0)
    model = kgraph.Sequential([kgraph.Input((5,)), kgraph.layers.Dense(4, activation="relu"), kgraph.layers.Dense(1)])
    model.compile(kgraph.optimizers.Adam(0.01), loss="mse")
    return model


def npz_save(model):
    """A stand-in for `model.save`: the weights and the optimizer step, as the model holds them when called."""
    def save(path, overwrite=True):
        with open(path, "wb") as f:
            np.savez(f, *model.get_weights(), iterations=model.optimizer.iterations)
    return save


def test_batch_frequency_saves_hold_the_weights_of_that_batch(tmp_path):
    model = make_model()
    model.save = npz_save(model)
    checkpoint = kgraph.callbacks.ModelCheckpoint(str(tmp_path / "ckpt_{epoch}_{batch}.keras"), save_freq=5)
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[checkpoint])
    assert sorted(os.listdir(tmp_path)) == ["ckpt_1_10.keras", "ckpt_1_5.keras", "ckpt_2_10.keras", "ckpt_2_5.keras"]
    iterations = {name: int(np.load(tmp_path / name)["iterations"]) for name in os.listdir(tmp_path)}
    assert iterations == {"ckpt_1_5.keras": 5, "ckpt_1_10.keras": 10, "ckpt_2_5.keras": 15, "ckpt_2_10.keras": 20}
    last = np.load(tmp_path / "ckpt_2_10.keras")
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_array_equal(last[f"arr_{i}"], w)
    first = np.load(tmp_path / "ckpt_1_5.keras")
    assert not np.array_equal(first["arr_0"], last["arr_0"])


def test_a_failed_save_leaves_the_previous_checkpoint_whole(tmp_path):
    model = make_model()
    target = tmp_path / "model.keras"
    atomic_write(target, b"previous checkpoint")

    def broken_save(path, overwrite=True):
        with open(path, "wb") as f:
            f.write(b"half a chec")
        raise OSError("disk full")

    model.save = broken_save
    checkpoint = kgraph.callbacks.ModelCheckpoint(str(target), monitor="loss")
    with pytest.raises(OSError, match="disk full"):
        model.fit(X, Y, batch_size=40, epochs=1, verbose=0, callbacks=[checkpoint])
    assert target.read_bytes() == b"previous checkpoint"
    assert os.listdir(tmp_path) == ["model.keras"]


def test_stale_temporary_files_are_cleared_at_train_begin(tmp_path):
    (tmp_path / ".tmp-123-0-model.keras").write_bytes(b"torn")
    model = make_model()
    model.save = npz_save(model)
    model.fit(X, Y, batch_size=40, epochs=1, verbose=0,
              callbacks=[kgraph.callbacks.ModelCheckpoint(str(tmp_path / "model.keras"), monitor="loss")])
    assert os.listdir(tmp_path) == ["model.keras"]


def test_epoch_only_callbacks_keep_fit_fused(tmp_path):
    def fused(*callbacks):
        return steps_per_call(CallbackList(list(callbacks)), 1, TRAIN_BATCH_HOOKS)

    epoch_level = [
        kgraph.callbacks.ModelCheckpoint(str(tmp_path / "m.keras")),
        kgraph.callbacks.BackupAndRestore(str(tmp_path / "b")),
        kgraph.callbacks.TensorBoard(str(tmp_path / "logs")),
        kgraph.callbacks.EarlyStopping(),
        kgraph.callbacks.ReduceLROnPlateau(),
        kgraph.callbacks.LearningRateScheduler(lambda epoch, lr: lr),
        kgraph.callbacks.CSVLogger(str(tmp_path / "log.csv")),
        kgraph.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: None),
    ]
    assert fused(*epoch_level) == AUTO_FUSED_STEPS
    assert all(type(cb).__name__ == type(cb).__mro__[1].__name__ for cb in epoch_level[:3])
    for batch_level in (kgraph.callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_freq=3),
                        kgraph.callbacks.BackupAndRestore(str(tmp_path / "b"), save_freq=3),
                        kgraph.callbacks.TensorBoard(str(tmp_path / "logs"), update_freq="batch"),
                        kgraph.callbacks.TerminateOnNaN(),
                        kgraph.callbacks.LambdaCallback(on_batch_end=lambda batch, logs: None)):
        assert fused(*epoch_level, batch_level) == 1, batch_level

    class MyCheckpoint(kgraph.callbacks.ModelCheckpoint):
        pass  # a subclass may override batch hooks, so it is never assumed to skip them

    assert fused(MyCheckpoint(str(tmp_path / "m.keras"))) == 1


def test_real_keras_file_and_weights_file(tmp_path):
    if not hasattr(kgraph.Model, "save") or not hasattr(kgraph.models, "load_model"):
        pytest.skip("model.save / model.save_weights / load_model are not available yet")
    model = make_model()
    callbacks = [kgraph.callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}.keras"), monitor="loss"),
                 kgraph.callbacks.ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True,
                                                  save_freq=7)]
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=callbacks)
    assert sorted(os.listdir(tmp_path)) == ["m-01.keras", "m-02.keras", "w.weights.h5"]
    restored = kgraph.models.load_model(str(tmp_path / "m-02.keras"))
    for a, b in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    other = make_model()
    other.load_weights(str(tmp_path / "w.weights.h5"))  # saved after batch 14 of 20
    assert not np.array_equal(other.get_weights()[0], model.get_weights()[0])
