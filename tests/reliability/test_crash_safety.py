"""SIGKILL at random points of every writer: the target is the complete old or the complete new file, and no
temporary is left once the next write has run."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time

import numpy as np
import pytest

import kgraph
from kgraph.runtime.onnx import OnnxModel
from tests.reliability import crash_writers

KILLS = 20


@pytest.fixture(scope="module")
def fork_server():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.reliability.crash_writers"])
    return ctx


def _kill_during_writes(ctx, writer, path: str, delay: float) -> None:
    """Starts `writer`, lets it write for `delay` seconds after it is ready, and SIGKILLs it."""
    ready = ctx.Event()
    process = ctx.Process(target=writer, args=(path, ready), daemon=True)
    process.start()
    assert ready.wait(120), f"{writer.__name__} never became ready"
    time.sleep(delay)
    os.kill(process.pid, signal.SIGKILL)
    process.join(30)
    assert process.exitcode == -signal.SIGKILL, process.exitcode


def _check_keras_file(path: str) -> None:
    crash_writers.version_of(kgraph.saving.load_model(path).get_weights())


def _check_weights_file(path: str) -> None:
    model = crash_writers.tiny_model()
    model.load_weights(path)
    crash_writers.version_of(model.get_weights())


def _check_onnx_file(path: str) -> None:
    outputs = OnnxModel(path).predict(np.ones((2, 3), "float32"))
    value = float(np.ravel(outputs)[0])
    assert value in (0.0, 4.0) and np.all(np.asarray(outputs) == value), outputs  # x·W + b with W, b ≡ v


def _check_backup(path: str) -> None:
    model = crash_writers.tiny_model(0.0)
    model.fit(np.ones((8, 3), "float32"), np.zeros((8, 2), "float32"), batch_size=4, epochs=1, verbose=0,
              callbacks=[kgraph.callbacks.BackupAndRestore(path, delete_checkpoint=False)])


CASES = {
    "save": ("model.keras", _check_keras_file, lambda path: crash_writers.tiny_model(1.0).save(path)),
    "save_weights": ("model.weights.h5", _check_weights_file,
                     lambda path: crash_writers.tiny_model(1.0).save_weights(path)),
    "checkpoint": ("checkpoint.keras", _check_keras_file, lambda path: crash_writers.tiny_model(1.0).save(path)),
    "export": ("model.onnx", _check_onnx_file, lambda path: crash_writers.tiny_model(1.0).export(path)),
    "backup": ("backup", _check_backup, _check_backup),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(CASES))
def test_sigkill_leaves_the_old_or_the_new_file_and_no_debris(kind, tmp_path, fork_server):
    name, check, write_again = CASES[kind]
    path = str(tmp_path / name)
    writer = getattr(crash_writers, kind)
    rng = random.Random(kind)
    for _ in range(KILLS):
        _kill_during_writes(fork_server, writer, path, rng.uniform(0.0, 0.25))
        if os.path.exists(path):
            check(path)
    write_again(path)
    check(path)
    directory = path if os.path.isdir(path) else str(tmp_path)
    assert crash_writers.leftovers(directory) == [], "temporaries left after the next write"
