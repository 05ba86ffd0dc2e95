"""Training speed: kgraph vs Keras 3 (JAX backend) vs a hand-written jax.jit + optax loop, in one run.

The guide's MLP (784→64→64→10), batch 64, MNIST-shaped data, RMSprop, shuffled epochs. Reports
first-epoch seconds (compilation included) and steady-state steps/s, and the ratios the project targets:
steady ≥ 1.0× Keras and ≥ 0.95× the hand-written loop; first epoch ≤ 0.75× Keras.

Usage: python tools/bench_fit.py [--samples 50000] [--epochs 3] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

BATCH = 64


def data(samples: int):
    rng = np.random.default_rng(0)
    x = rng.random((samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=samples).astype("float32")
    return x, y


def mlp(lib):
    inputs = lib.Input(shape=(784,), name="digits")
    h = lib.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    h = lib.layers.Dense(64, activation="relu", name="dense_2")(h)
    outputs = lib.layers.Dense(10, activation="softmax", name="predictions")(h)
    return lib.Model(inputs=inputs, outputs=outputs)


def time_framework(lib, x, y, epochs: int) -> tuple[float, float]:
    """(first epoch seconds, steady steps/s) for Keras or kgraph's fit."""
    model = mlp(lib)
    model.compile(optimizer=lib.optimizers.RMSprop(), loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    first = time.perf_counter() - start
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0)
    steady = time.perf_counter() - start
    steps = epochs * -(-len(x) // BATCH)
    return first, steps / steady


def py_dataset(lib, x, y):
    """The guide's ExamplePyDataset for `lib` (Keras or kgraph): batches sliced from in-memory arrays."""

    class ExamplePyDataset(lib.utils.PyDataset):
        def __len__(self):
            return -(-len(x) // BATCH)

        def __getitem__(self, idx):
            return x[idx * BATCH:(idx + 1) * BATCH], y[idx * BATCH:(idx + 1) * BATCH]

    return ExamplePyDataset()


def torch_loader(x, y):
    import torch

    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    return torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True)


def time_source(lib, source, steps: int) -> float:
    """Steady steps/s of `fit` over a data source (one warm-up epoch, one timed)."""
    model = mlp(lib)
    model.compile(optimizer=lib.optimizers.RMSprop(), loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    model.fit(source, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(source, epochs=1, verbose=0)
    return steps / (time.perf_counter() - start)


def time_handwritten(x, y, epochs: int) -> tuple[float, float]:
    """The same model and optimizer as a plain jax.jit + optax loop over NumPy batches."""
    key = jax.random.key(0)
    sizes = [(784, 64), (64, 64), (64, 10)]
    params = []
    for (fan_in, fan_out), k in zip(sizes, jax.random.split(key, 3)):
        limit = np.sqrt(6 / (fan_in + fan_out))
        params.append((jax.random.uniform(k, (fan_in, fan_out), minval=-limit, maxval=limit), jnp.zeros(fan_out)))
    optimizer = optax.rmsprop(1e-3, decay=0.9, eps=1e-7)
    opt_state = optimizer.init(params)

    def loss_fn(params, xb, yb):
        h = xb
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            h = jax.nn.relu(h) if i < 2 else jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(h, yb[:, None].astype(jnp.int32), axis=1))

    @jax.jit
    def step(params, opt_state, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    rng = np.random.default_rng(0)

    def epoch(params, opt_state):
        perm = rng.permutation(len(x))
        loss = None
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            params, opt_state, loss = step(params, opt_state, x[idx], y[idx])
        jax.block_until_ready(loss)
        return params, opt_state

    start = time.perf_counter()
    params, opt_state = epoch(params, opt_state)
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(epochs):
        params, opt_state = epoch(params, opt_state)
    steady = time.perf_counter() - start
    return first, epochs * -(-len(x) // BATCH) / steady


def table(results: dict, samples: int, epochs: int, sources: dict) -> str:
    keras_first, keras_sps = results["Keras 3 (JAX)"]
    hand_first, hand_sps = results["jax.jit + optax"]
    lines = [
        "## Training (fit)",
        "",
        f"Guide MLP, batch {BATCH}, {samples:,} MNIST-shaped samples, RMSprop; steady = {epochs} epochs after the first. "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {jax.devices()[0].platform.upper()}, "
        f"jax {jax.__version__}. Produced by `python tools/bench_fit.py`.",
        "",
        "| runner | first epoch (s) | steady steps/s | steady vs Keras | steady vs hand-written | first epoch vs Keras |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, (first, sps) in results.items():
        lines.append(f"| {name} | {first:.2f} | {sps:,.0f} | {sps / keras_sps:.2f}× | {sps / hand_sps:.2f}× | {first / keras_first:.2f}× |")
    lines.append("")
    lines.append("Targets for kgraph: steady ≥ 1.0× Keras and ≥ 0.95× hand-written; first epoch ≤ 0.75× Keras.")
    if sources:
        lines += ["", "| data source | kgraph steps/s | Keras 3 steps/s | kgraph vs Keras |", "|---|---:|---:|---:|"]
        for name, (ours, theirs) in sources.items():
            lines.append(f"| {name} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f}× |")
    lines.append("")
    lines.append("kgraph's first epoch is one trace of the model, the XLA compile of the step loop (about 0.5 s here) and of the "
                 "ragged last batch's executable (compiled on a background thread while the first runs), plus the epoch "
                 "itself. With no callback watching single batches, fit runs 32 batches per compiled call.")
    return "\n".join(lines)


def write_section(path: str, section: str) -> None:
    """Replaces (or appends) the `## Training (fit)` section of the benchmarks page."""
    title = section.splitlines()[0]
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    parts = text.split("\n## ")
    kept = [parts[0]] + ["## " + p for p in parts[1:] if not ("## " + p).startswith(title)]
    body = "\n".join(p.rstrip() + "\n" for p in kept)
    with open(path + ".tmp", "w") as f:
        f.write(body.rstrip() + "\n\n" + section + "\n")
    os.replace(path + ".tmp", path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--write", default=None, help="update this Markdown file's '## Training (fit)' section")
    args = parser.parse_args()
    import keras

    import kgraph

    x, y = data(args.samples)
    jax.block_until_ready(jax.jit(lambda a: a @ a)(jnp.ones((64, 64))))  # nobody pays the process's first compile
    results = {}
    results["Keras 3 (JAX)"] = time_framework(keras, x, y, args.epochs)
    results["kgraph"] = time_framework(kgraph, x, y, args.epochs)
    results["jax.jit + optax"] = time_handwritten(x, y, args.epochs)
    steps = -(-len(x) // BATCH)
    sources = {
        "PyDataset (guide's ExamplePyDataset)": (time_source(kgraph, py_dataset(kgraph, x, y), steps),
                                                 time_source(keras, py_dataset(keras, x, y), steps)),
        "torch DataLoader (shuffled)": (time_source(kgraph, torch_loader(x, y), steps),
                                        time_source(keras, torch_loader(x, y), steps)),
    }
    section = table({k: results[k] for k in ("kgraph", "Keras 3 (JAX)", "jax.jit + optax")}, args.samples, args.epochs,
                    sources)
    print(section)
    if args.write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
