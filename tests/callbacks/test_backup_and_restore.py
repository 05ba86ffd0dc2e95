"""BackupAndRestore: the state file round-trips exactly, and a training process killed at any batch — even
while it writes a backup — continues after a restart to the same bits as a run never interrupted."""

import os
import signal
import subprocess
import sys
import textwrap

import ml_dtypes
import numpy as np
import pytest

import kgraph
from kgraph.callbacks.backup_and_restore import load_training_state, save_training_state
from kgraph.optimizers.adam import AdamSlots

SCRIPT = textwrap.dedent('''
    """Trains a small dropout MLP with BackupAndRestore; env KILL_AT="epoch,batch" SIGKILLs the process after that
    batch, KILL_IN_WRITE=n SIGKILLs it halfway through writing its n-th backup."""
    import io, os, signal, sys
    import numpy as np
    import kgraph

    backup_dir, out = sys.argv[1], sys.argv[2]
    kill_at = tuple(int(v) for v in os.environ["KILL_AT"].split(",")) if os.environ.get("KILL_AT") else None
    kill_in_write = int(os.environ.get("KILL_IN_WRITE", "0"))

    savez = np.savez
    if kill_in_write:
        calls = [0]

        def torn_savez(f, **arrays):
            calls[0] += 1
            if calls[0] == kill_in_write:
                buffer = io.BytesIO()
                savez(buffer, **arrays)
                f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            return savez(f, **arrays)

        np.savez = torn_savez

    class Killer(kgraph.callbacks.Callback):
        batches_run = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            Killer.batches_run += 1
            if (self.epoch, batch) == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    kgraph.utils.set_random_seed(5)
    data = np.random.default_rng(1)
    x = data.normal(size=(120, 6)).astype("float32")
    y = data.integers(0, 3, 120)
    inputs = kgraph.Input((6,))
    hidden = kgraph.layers.Dropout(0.25)(kgraph.layers.Dense(16, activation="relu")(inputs))
    model = kgraph.Model(inputs, kgraph.layers.Dense(3, activation="softmax")(hidden))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    callbacks = [kgraph.callbacks.BackupAndRestore(backup_dir, save_freq=4), Killer()]
    history = model.fit(x, y, batch_size=12, epochs=3, verbose=0, callbacks=callbacks)
    savez(out, *model.get_weights(), iterations=model.optimizer.iterations, loss=history.history["loss"][-1],
             epochs=np.asarray(history.epoch), batches_run=Killer.batches_run)
''')


def run(script, backup_dir, out, **env):
    return subprocess.run([sys.executable, str(script), str(backup_dir), str(out)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "JAX_PLATFORMS": "cpu", **env})


@pytest.mark.slow  # four Python processes: 12-25 s on two shared cores
def test_killed_process_resumes_to_the_same_bits(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    reference = run(script, tmp_path / "ref_backup", tmp_path / "ref.npz")
    assert reference.returncode == 0, reference.stderr
    assert not (tmp_path / "ref_backup").exists()  # deleted when fit completes

    # a random batch of the first two epochs, so that the restarted run has at least two backups to write
    epoch, batch = int(np.random.randint(0, 2)), int(np.random.randint(0, 10))
    where = f"killed after epoch {epoch} batch {batch}"
    backup = tmp_path / "backup"
    killed = run(script, backup, tmp_path / "unused.npz", KILL_AT=f"{epoch},{batch}")
    assert killed.returncode == -signal.SIGKILL, (where, killed.stderr)
    assert (backup / "training_state.npz").exists() or (epoch, batch) < (0, 3), where

    # The restart resumes, then is killed halfway through writing its second backup: the first stays loadable.
    killed_in_write = run(script, backup, tmp_path / "unused.npz", KILL_IN_WRITE="2")
    assert killed_in_write.returncode == -signal.SIGKILL, (where, killed_in_write.stderr)
    assert any(name.startswith(".tmp-") for name in os.listdir(backup)), where
    state = load_training_state(str(backup / "training_state.npz"))
    assert state["step"] > 0

    final_out = tmp_path / "final.npz"
    final = run(script, backup, final_out)
    assert final.returncode == 0, (where, final.stderr)
    expected, got = np.load(tmp_path / "ref.npz"), np.load(final_out)
    assert int(got["iterations"]) == int(expected["iterations"]) == 30, where
    for key in expected.files:
        if key.startswith("arr_"):
            np.testing.assert_array_equal(got[key], expected[key], err_msg=where)
    assert float(got["loss"]) == float(expected["loss"]), where  # the metric accumulators were restored too
    assert got["epochs"][-1] == 2
    assert int(got["batches_run"]) == 30 - (state["epoch"] * 10 + state["step"]), where  # it resumed, not restarted


def test_state_file_round_trips_exactly(tmp_path):
    snapshot = {
        "trainable": [np.arange(6, dtype=np.float32).reshape(2, 3), np.asarray([1.5, -2], ml_dtypes.bfloat16)],
        "non_trainable": [],
        "optimizer": {"iterations": np.asarray(7, np.int32), "learning_rate": np.asarray(0.01, np.float32),
                      "slots": AdamSlots(moments=[(np.ones(3, np.float32), np.zeros(3, np.float32))],
                                         velocity_hats=[])},
        "metrics": [[np.asarray(2.0, np.float32), np.asarray(3.0, np.float32)]],
        "rng": np.asarray([1, 2], np.uint32),
        "extra": None,
        "epoch": 3,
        "step": 5,
    }
    path = str(tmp_path / "state.npz")
    save_training_state(path, snapshot)
    restored = load_training_state(path)
    assert restored["epoch"] == 3 and restored["step"] == 5 and restored["extra"] is None
    assert isinstance(restored["optimizer"]["slots"], AdamSlots)
    assert isinstance(restored["optimizer"]["slots"].moments[0], tuple)
    import jax

    leaves, treedef = jax.tree_util.tree_flatten(snapshot)
    restored_leaves, restored_treedef = jax.tree_util.tree_flatten(restored)
    assert treedef == restored_treedef
    for a, b in zip(leaves, restored_leaves):
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert np.load(path, allow_pickle=False)  # plain arrays only


def test_state_file_refuses_foreign_types(tmp_path):
    import collections
    import json

    Point = collections.namedtuple("Point", "x")
    path = str(tmp_path / "state.npz")
    save_training_state(path, {"p": Point(np.zeros(1))})
    with np.load(path) as data:
        arrays = dict(data)
    structure = json.loads(str(arrays["structure"]))
    assert structure["tree"]["dict"][0][1]["namedtuple"].endswith(":Point")
    with pytest.raises(ValueError, match="only kgraph and optax state types"):
        load_training_state(path)


def _model():
    kgraph.utils.set_random_seed(2)
    model = kgraph.Sequential([kgraph.Input((4,)), kgraph.layers.Dense(3)])
    model.compile(kgraph.optimizers.SGD(0.1, momentum=0.9), loss="mse", metrics=["mae"])
    return model


X = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
Y = np.random.default_rng(1).normal(size=(40, 3)).astype("float32")


class Interrupt(kgraph.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.at = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


def test_epoch_backup_resumes_with_fresh_metrics_and_double_checkpoint_fallback(tmp_path):
    reference = _model()
    ref = reference.fit(X, Y, batch_size=8, epochs=4, verbose=0, validation_data=(X[:8], Y[:8]))

    backup = tmp_path / "backup"
    model = _model()
    callback = kgraph.callbacks.BackupAndRestore(str(backup), double_checkpoint=True)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, batch_size=8, epochs=4, verbose=0, validation_data=(X[:8], Y[:8]),
                  callbacks=[callback, Interrupt(1)])
    assert sorted(os.listdir(backup)) == ["training_state.npz", "training_state.npz.bkp"]
    (backup / "training_state.npz").write_bytes(b"corrupted")  # the latest is unreadable: the previous one is used

    resumed = _model()  # seeds as the reference: its fit draws the same shuffling seed
    history = resumed.fit(X, Y, batch_size=8, epochs=4, verbose=0, validation_data=(X[:8], Y[:8]),
                          callbacks=[kgraph.callbacks.BackupAndRestore(str(backup), double_checkpoint=True)])
    assert history.epoch == [1, 2, 3]  # from the backup of epoch 0's end
    # the resumed epochs' logs match the uninterrupted ones: metrics start fresh rather than from validation's
    assert history.history["loss"] == ref.history["loss"][1:]
    assert history.history["mae"] == ref.history["mae"][1:]
    assert history.history["val_loss"] == ref.history["val_loss"][1:]
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not backup.exists()


def test_a_backup_from_another_model_is_refused(tmp_path):
    backup = tmp_path / "backup"
    model = _model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, batch_size=8, epochs=2, verbose=0,
                  callbacks=[kgraph.callbacks.BackupAndRestore(str(backup)), Interrupt(0)])
    other = kgraph.Sequential([kgraph.Input((4,)), kgraph.layers.Dense(3), kgraph.layers.Dense(3)])
    other.compile("sgd", loss="mse")
    with pytest.raises(ValueError, match="written for a different model"):
        other.fit(X, Y, epochs=1, verbose=0, callbacks=[kgraph.callbacks.BackupAndRestore(str(backup))])


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        kgraph.callbacks.BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        kgraph.callbacks.BackupAndRestore("/tmp/x", save_freq="batch")



def _interrupt_and_resume(tmp_path, make_callbacks, before_resume=lambda: None):
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        _model().fit(X, Y, batch_size=8, epochs=4, verbose=0,
                     callbacks=[kgraph.callbacks.BackupAndRestore(backup), *make_callbacks(), Interrupt(1)])
    resumed = _model()
    before_resume()
    history = resumed.fit(X, Y, batch_size=8, epochs=4, verbose=0,
                          callbacks=[kgraph.callbacks.BackupAndRestore(backup), *make_callbacks()])
    reference = _model()
    ref_history = reference.fit(X, Y, batch_size=8, epochs=4, verbose=0, callbacks=make_callbacks())
    assert history.epoch == [2, 3]
    assert history.history["loss"] == ref_history.history["loss"][2:]
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_resumed_epoch_uses_the_rate_a_scheduler_sets_in_on_epoch_begin(tmp_path):
    _interrupt_and_resume(tmp_path, lambda: [kgraph.callbacks.LearningRateScheduler(lambda e, lr: 0.1 * 0.5 ** e)])


def test_resumed_run_shuffles_as_the_interrupted_one_without_a_fixed_seed(tmp_path):
    # the restarted program drew one more seed than the interrupted one before fit
    _interrupt_and_resume(tmp_path, lambda: [], before_resume=kgraph.random.next_seed)
