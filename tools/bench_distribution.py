"""Data-parallel training speed: kgraph's DataParallel vs Keras 3's (JAX backend), same model, in one run.

The guide's MLP (784→64→64→10) from bench_fit.py, batch 64, RMSprop, on `--devices` host CPU devices
(`XLA_FLAGS=--xla_force_host_platform_device_count`, set here before JAX starts), each framework once with
`DataParallel` over all of them and once on one device. Reports steady-state steps/s (the median epoch
after a first, compiling one) as a Markdown table.

Usage: python tools/bench_distribution.py [--devices 2] [--samples 12800] [--epochs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--samples", type=int, default=12800, help="a multiple of the batch size, 64")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs (median taken), after a warm-up one")
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={ARGS.devices}"
os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402

from bench_fit import BATCH, data, mlp  # noqa: E402


def steady_steps_per_s(lib, distribution, x, y, epochs: int) -> float:
    """Median steps/s over `epochs` epochs of one fit, after a warm-up epoch, under `distribution` (None: one device).

    Each epoch is timed on its own (begin to end, where the logs reach the host) and the median taken, so
    a burst of load from elsewhere on a shared machine skews one epoch rather than the result.
    """
    times = []

    class EpochTimer(lib.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    lib.distribution.set_distribution(distribution)
    try:
        model = mlp(lib)  # Keras lays out variables when they are created, so build under the distribution
        model.compile(optimizer=lib.optimizers.RMSprop(), loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
        model.fit(x, y, batch_size=BATCH, epochs=1 + epochs, verbose=0, callbacks=[EpochTimer()])
    finally:
        lib.distribution.set_distribution(None)
    return (len(x) // BATCH) / statistics.median(times[1:])


def main() -> None:
    import keras

    import kgraph

    if ARGS.samples % BATCH:
        raise SystemExit(f"--samples must be a multiple of {BATCH} (Keras' DataParallel cannot split a ragged last batch)")
    n = jax.device_count()
    x, y = data(ARGS.samples)
    rows = []
    for name, lib in (("kgraph", kgraph), ("Keras 3 (JAX)", keras)):
        one = steady_steps_per_s(lib, None, x, y, ARGS.epochs)
        dp = steady_steps_per_s(lib, lib.distribution.DataParallel(devices=jax.devices()), x, y, ARGS.epochs)
        rows.append((name, one, dp))
    keras_dp = rows[1][2]
    print("## Data-parallel training (fit)\n")
    print(f"Guide MLP, batch {BATCH} (split {BATCH // n} per device), {ARGS.samples:,} MNIST-shaped samples, RMSprop; "
          f"steady = median of {ARGS.epochs} epochs after a warm-up one; {n} host CPU devices "
          f"(`--xla_force_host_platform_device_count={n}`) on {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}, jax {jax.__version__}. One run of "
          f"`python tools/bench_distribution.py --devices {n}`.\n")
    print("| runner | one device, steps/s | DataParallel, steps/s | DataParallel vs Keras' DataParallel |")
    print("|---|---:|---:|---:|")
    for name, one, dp in rows:
        print(f"| {name} | {one:,.0f} | {dp:,.0f} | {dp / keras_dp:.2f}× |")


if __name__ == "__main__":
    main()
