"""One process of a two-process run, started by test_distributed_training.py.

`python multi_process_worker.py PORT PROCESS_ID` joins the cluster with `kgraph.distribution.initialize`
(2 host devices per process, 4 in all), trains under DataParallel over every device and prints JSON:
the global device list and the losses.
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
os.environ.setdefault("KERAS_BACKEND", "jax")

import json  # noqa: E402
import sys  # noqa: E402

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


def main(port: str, process_id: str | None) -> None:
    x, y = data()
    if process_id is None:  # the one-device reference
        print(json.dumps({"loss": model().fit(x, y, batch_size=16, epochs=2, verbose=0).history["loss"]}))
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    dl.initialize(f"localhost:{port}", num_processes=2, process_id=int(process_id))
    with dl.DataParallel().scope():
        history = model().fit(x, y, batch_size=16, epochs=2, verbose=0).history
    print(json.dumps({"devices": dl.list_devices(), "processes": jax.process_count(), "loss": history["loss"]}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
