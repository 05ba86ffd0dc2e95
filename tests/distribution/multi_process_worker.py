"""One process of a two-process run, started by test_distributed_training.py.

`python multi_process_worker.py PORT PROCESS_ID` joins the cluster with `kgraph.distribution.initialize`
(2 host devices per process, 4 in all), trains under DataParallel over every device and prints JSON:
the global device list and the losses. With a third argument `die`, process 1 kills itself (SIGKILL) after
its first epoch, and the heartbeat timeout is short. `python multi_process_worker.py PORT` alone trains the
reference: one process with the same 4 devices.
"""

from __future__ import annotations

import os
import sys

DEVICES_PER_PROCESS = 2 if len(sys.argv) > 2 else 4
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + f" --xla_force_host_platform_device_count={DEVICES_PER_PROCESS}")
os.environ.setdefault("KERAS_BACKEND", "jax")

import json  # noqa: E402
import signal  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

import kgraph as keras  # noqa: E402
from kgraph import distribution as dl  # noqa: E402


def model():
    keras.random.set_seed(1)
    inputs = keras.Input((16,))
    h = keras.layers.Dense(32, activation="relu", name="dense_1")(inputs)
    m = keras.Model(inputs, keras.layers.Dense(8, name="dense_2")(h))
    m.compile(optimizer="adam", loss="mse")
    return m


def data():
    rng = np.random.default_rng(0)
    return rng.random((64, 16), dtype=np.float32), rng.random((64, 8), dtype=np.float32)


class DieAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        print(json.dumps({"epoch": epoch}), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)


def main(port: str, process_id: str | None, die: bool) -> None:
    x, y = data()
    if process_id is None:  # the reference: one process with the same devices
        with dl.DataParallel().scope():
            history = model().fit(x, y, batch_size=16, epochs=2, verbose=0).history
        print(json.dumps({"devices": dl.list_devices(), "loss": history["loss"]}))
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    dl.initialize(f"localhost:{port}", num_processes=2, process_id=int(process_id),
                  heartbeat_timeout_seconds=5 if die else None)
    callbacks = [DieAfterFirstEpoch()] if die and process_id == "1" else []
    with dl.DataParallel().scope():
        history = model().fit(x, y, batch_size=16, epochs=50 if die else 2, verbose=0, callbacks=callbacks).history
    print(json.dumps({"devices": dl.list_devices(), "processes": jax.process_count(), "loss": history["loss"]}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None, sys.argv[3:] == ["die"])
