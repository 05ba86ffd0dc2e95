"""Training speed: kgraph vs Keras 3 (JAX backend) vs a hand-written jax.jit + optax loop, in one run.

Five model families (the guide's MLP, the guide's MNIST convnet, an Embedding + LSTM(64) text classifier, a
transformer encoder block, a residual CNN with BatchNormalization on 32×32×3), batch 64, random data of the
right shapes. Every (model, framework) pair runs in its own process, frameworks alternating, and reports the
first epoch (tracing and compilation included), steady steps/s (epochs after the first), steady predict
samples/s and the process's peak RSS. kgraph's first epoch is measured cold (an empty compilation cache) and
warm (a second process on the cache the first one filled). Then the data-source rows: the MLP fed by the
guide's PyDataset and by a shuffled torch DataLoader. Compare ratios within one run: absolute numbers move with
the machine's load; on a shared machine, `--rounds 3` keeps each framework's best of three processes.

Usage: python tools/bench_fit.py [--scale 1.0] [--epochs 1] [--rounds 1] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

BATCH = 64
# Samples per model at --scale 1: enough for a steady figure, small enough for ~10 minutes on 2 cores.
SAMPLES = {"mlp": 20480, "convnet": 1920, "lstm": 2560, "transformer": 2560, "resnet": 768}
TITLES = {
    "mlp": "guide MLP (784→64→64→10)",
    "convnet": "MNIST convnet (Conv2D 32, 64, MaxPool, Dropout, Dense)",
    "lstm": "Embedding + LSTM(64) text classifier (80 tokens)",
    "transformer": "transformer encoder block (MHA 4×16, FFN 128, LayerNorm; 64 tokens)",
    "resnet": "residual CNN with BatchNorm (32×32×3, 3 blocks)",
}
HANDWRITTEN = ("mlp", "convnet")


def data(family: str, samples: int):
    import numpy as np

    rng = np.random.default_rng(0)
    if family == "mlp":
        return rng.random((samples, 784), dtype=np.float32), rng.integers(0, 10, samples).astype("float32")
    if family == "convnet":
        return rng.random((samples, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, samples)
    if family == "lstm":
        return rng.integers(1, 10000, (samples, 80)).astype("int32"), rng.integers(0, 2, samples).astype("float32")
    if family == "transformer":
        return rng.integers(1, 5000, (samples, 64)).astype("int32"), rng.integers(0, 2, samples)
    return rng.random((samples, 32, 32, 3), dtype=np.float32), rng.integers(0, 10, samples)


def build(lib, family: str):
    """The model of `family` written against `lib` (keras or kgraph), compiled as the guides compile it."""
    L = lib.layers
    if family == "mlp":
        inputs = lib.Input(shape=(784,), name="digits")
        h = L.Dense(64, activation="relu", name="dense_1")(inputs)
        h = L.Dense(64, activation="relu", name="dense_2")(h)
        model = lib.Model(inputs, L.Dense(10, activation="softmax", name="predictions")(h))
        model.compile(optimizer=lib.optimizers.RMSprop(), loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
        return model
    if family == "convnet":
        model = lib.Sequential([lib.Input(shape=(28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                                L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5),
                                L.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    if family == "lstm":
        model = lib.Sequential([lib.Input(shape=(80,), dtype="int32"), L.Embedding(10000, 64), L.LSTM(64),
                                L.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return model
    if family == "transformer":
        inputs = lib.Input(shape=(64,), dtype="int32")
        h = L.Embedding(5000, 64)(inputs)
        a = L.MultiHeadAttention(num_heads=4, key_dim=16)(h, h)
        h = L.LayerNormalization(epsilon=1e-6)(L.Add()([h, L.Dropout(0.1)(a)]))
        f = L.Dense(64)(L.Dense(128, activation="relu")(h))
        h = L.LayerNormalization(epsilon=1e-6)(L.Add()([h, L.Dropout(0.1)(f)]))
        model = lib.Model(inputs, L.Dense(2, activation="softmax")(L.GlobalAveragePooling1D()(h)))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    inputs = lib.Input(shape=(32, 32, 3))
    h = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(32, 3, padding="same", use_bias=False)(inputs)))
    for filters, stride in ((32, 1), (64, 2), (64, 1)):
        r = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(filters, 3, strides=stride, padding="same",
                                                                 use_bias=False)(h)))
        r = L.BatchNormalization()(L.Conv2D(filters, 3, padding="same", use_bias=False)(r))
        skip = h if stride == 1 and h.shape[-1] == filters else L.Conv2D(filters, 1, strides=stride)(h)
        h = L.Activation("relu")(L.Add()([skip, r]))
    model = lib.Model(inputs, L.Dense(10, activation="softmax")(L.GlobalAveragePooling2D()(h)))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warm_jax() -> None:
    """Nobody pays the process's first XLA compile (backend start-up) inside a timed region."""
    import jax
    import jax.numpy as jnp

    jax.block_until_ready(jax.jit(lambda a: a @ a)(jnp.ones((64, 64))))


MIN_SECONDS = 1.0  # a steady or predict figure repeats its call for at least this long: short ones are noise


def rate(call, units: int) -> float:
    """Units per second of `call()`, repeated until `MIN_SECONDS` have passed."""
    done, start = 0, time.perf_counter()
    while True:
        call()
        done += units
        elapsed = time.perf_counter() - start
        if elapsed >= MIN_SECONDS:
            return done / elapsed


def run_framework(lib_name: str, family: str, samples: int, epochs: int, first_only: bool = False) -> dict:
    """First epoch, steady steps/s and predict samples/s of `fit`/`predict` with Keras or kgraph."""
    import importlib

    lib = importlib.import_module(lib_name)
    x, y = data(family, samples)
    warm_jax()
    model = build(lib, family)
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    first = time.perf_counter() - start
    if first_only:
        return {"first": first}
    steady = rate(lambda: model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0), epochs * math.ceil(samples / BATCH))
    model.predict(x, batch_size=BATCH, verbose=0)
    predict = rate(lambda: model.predict(x, batch_size=BATCH, verbose=0), samples)
    return {"first": first, "steady": steady, "predict": predict}


def run_source(lib_name: str, source: str, samples: int) -> dict:
    """Steady steps/s of the MLP's `fit` over a PyDataset or a torch DataLoader (one warm-up epoch)."""
    import importlib

    lib = importlib.import_module(lib_name)
    x, y = data("mlp", samples)
    if source == "pydataset":
        class ExamplePyDataset(lib.utils.PyDataset):
            def __len__(self):
                return math.ceil(len(x) / BATCH)

            def __getitem__(self, idx):
                return x[idx * BATCH:(idx + 1) * BATCH], y[idx * BATCH:(idx + 1) * BATCH]

        feed = ExamplePyDataset()
    else:
        import torch

        dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        feed = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True)
    warm_jax()
    model = build(lib, "mlp")
    model.fit(feed, epochs=1, verbose=0)
    return {"steady": rate(lambda: model.fit(feed, epochs=1, verbose=0), math.ceil(samples / BATCH))}


def run_handwritten(family: str, samples: int, epochs: int) -> dict:
    """The same model and optimizer as a plain jax.jit + optax loop over NumPy batches."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    x, y = data(family, samples)
    warm_jax()
    keys = iter(jax.random.split(jax.random.key(0), 8))

    def glorot(shape, fan_in, fan_out):
        limit = np.sqrt(6 / (fan_in + fan_out))
        return jax.random.uniform(next(keys), shape, minval=-limit, maxval=limit)

    if family == "mlp":
        params = [(glorot((i, o), i, o), jnp.zeros(o)) for i, o in ((784, 64), (64, 64), (64, 10))]
        optimizer = optax.rmsprop(1e-3, decay=0.9, eps=1e-7)

        def forward(params, xb, training, key):
            h = xb
            for i, (w, b) in enumerate(params):
                h = h @ w + b
                h = jax.nn.relu(h) if i < 2 else h
            return h
    else:
        params = [(glorot((3, 3, 1, 32), 9, 288), jnp.zeros(32)), (glorot((3, 3, 32, 64), 288, 576), jnp.zeros(64)),
                  (glorot((1600, 10), 1600, 10), jnp.zeros(10))]
        optimizer = optax.adam(1e-3, eps=1e-7)

        def forward(params, xb, training, key):
            h = xb
            for w, b in params[:2]:
                h = jax.lax.conv_general_dilated(h, w, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
                h = jax.nn.relu(h + b)
                h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
            h = h.reshape(h.shape[0], -1)
            if training:
                h = jnp.where(jax.random.bernoulli(key, 0.5, h.shape), h / 0.5, 0.0)
            return h @ params[2][0] + params[2][1]

    opt_state = optimizer.init(params)

    def loss_fn(params, xb, yb, key):
        logits = forward(params, xb, True, key)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb.astype(jnp.int32)).mean()

    @jax.jit
    def step(params, opt_state, xb, yb, key):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb, key)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    predict_step = jax.jit(lambda params, xb: jax.nn.softmax(forward(params, xb, False, None)))
    rng = np.random.default_rng(0)
    key = jax.random.key(1)

    def epoch(params, opt_state, key):
        perm = rng.permutation(len(x))
        loss = None
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            key, sub = jax.random.split(key)
            params, opt_state, loss = step(params, opt_state, x[idx], y[idx], sub)
        jax.block_until_ready(loss)
        return params, opt_state, key

    start = time.perf_counter()
    params, opt_state, key = epoch(params, opt_state, key)
    first = time.perf_counter() - start
    trained = [params, opt_state, key]

    def epochs_once():
        for _ in range(epochs):
            trained[:] = epoch(*trained)

    steady = rate(epochs_once, epochs * math.ceil(samples / BATCH))

    def predict():
        return np.concatenate([np.asarray(predict_step(trained[0], x[i:i + BATCH])) for i in range(0, len(x), BATCH)])

    predict()
    return {"first": first, "steady": steady, "predict": rate(predict, samples)}


def worker(args) -> None:
    if args.runner == "jax":
        result = run_handwritten(args.family, args.samples, args.epochs)
    elif args.source:
        result = run_source(args.runner, args.source, args.samples)
    else:
        result = run_framework(args.runner, args.family, args.samples, args.epochs, args.first_only)
    result["rss"] = peak_rss_mb()
    print("RESULT " + json.dumps(result))


def spawn(runner: str, family: str, samples: int, epochs: int, source: str | None = None, cache: str | None = None,
          first_only: bool = False) -> dict:
    """Runs one worker process; `cache` is its compilation cache directory (default: a fresh, empty one)."""
    command = [sys.executable, __file__, "--worker", "--runner", runner, "--family", family,
               "--samples", str(samples), "--epochs", str(epochs)] + (["--source", source] if source else [])
    command += ["--first-only"] if first_only else []
    with tempfile.TemporaryDirectory() as empty:
        env = {**os.environ, "KGRAPH_COMPILATION_CACHE": cache or empty}
        done = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{runner} on {family} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    print(f"  {family:12s} {source or '':10s} {runner:7s} {'warm' if first_only else ''} {result}", file=sys.stderr, flush=True)
    return result


def best(runs: list[dict]) -> dict:
    """Each figure's best over repeated processes: the least disturbed by other work on the machine."""
    lowest = ("first", "rss", "first_warm")
    return {key: (min if key in lowest else max)(r[key] for r in runs) for key in runs[0]}


def measure(family: str, samples: int, epochs: int, order: list[str]) -> dict:
    """One round of `family`: each runner in `order` in its own process, kgraph also warm on its own cache."""
    results = {}
    for runner in order:
        if runner != "kgraph":
            results[runner] = spawn(runner, family, samples, epochs)
            continue
        with tempfile.TemporaryDirectory() as cache:
            results[runner] = spawn(runner, family, samples, epochs, cache=cache)
            warm = spawn(runner, family, samples, epochs, cache=cache, first_only=True)
        results[runner]["first_warm"] = warm["first"]
    return results


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def table(results: dict, sources: dict, samples: dict, epochs: int, rounds: int) -> str:
    import jax

    flags = [a for i, a in enumerate(sys.argv[1:]) if a != "--write" and (i == 0 or sys.argv[i] != "--write")]
    command = " ".join(["python tools/bench_fit.py"] + flags)

    lines = [
        "## Training (fit)",
        "",
        f"Batch {BATCH}, random data of each model's shapes, steady = {epochs} epoch(s) after the first, predict = "
        f"`predict` over the training inputs after a first one, each repeated for at least {MIN_SECONDS:g} s. Each (model, framework) ran in its own process, frameworks "
        f"alternating; ratios are kgraph / Keras 3 (higher is better for speed, lower for first epoch and memory). "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other work, "
        f"{jax.devices()[0].platform.upper()}, jax {jax.__version__}. Produced by `{command}`.",
        "",
        "| model | samples | steady kgraph/Keras | first epoch kgraph/Keras (cold) | first epoch kgraph/Keras (warm cache) "
        "| predict kgraph/Keras | peak RSS kgraph/Keras | steady kgraph/hand-written | kgraph steps/s | Keras steps/s "
        "| kgraph first epoch cold / warm (s) | Keras first epoch (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    steady_ratios = []
    for family, runs in results.items():
        ours, theirs = runs["kgraph"], runs["keras"]
        steady_ratios.append(ours["steady"] / theirs["steady"])
        hand = f"{ours['steady'] / runs['jax']['steady']:.2f}×" if "jax" in runs else "–"
        lines.append(f"| {TITLES[family]} | {samples[family]:,} | {ours['steady'] / theirs['steady']:.2f}× | "
                     f"{ours['first'] / theirs['first']:.2f}× | {ours['first_warm'] / theirs['first']:.2f}× | "
                     f"{ours['predict'] / theirs['predict']:.2f}× | {ours['rss'] / theirs['rss']:.2f}× | {hand} | "
                     f"{ours['steady']:,.1f} | {theirs['steady']:,.1f} | {ours['first']:.2f} / {ours['first_warm']:.2f} | "
                     f"{theirs['first']:.2f} |")
    lines += ["", f"Steady kgraph/Keras geometric mean: **{geomean(steady_ratios):.2f}×**. Targets: steady ≥ 1.0× on every "
              "model and ≥ 1.2× geomean; first epoch ≤ 0.75×; predict ≥ 1.0×; peak RSS ≤ 1.0×."]
    if sources:
        lines += ["", "| data source (guide MLP) | kgraph steps/s | Keras 3 steps/s | kgraph vs Keras |", "|---|---:|---:|---:|"]
        for name, (ours, theirs) in sources.items():
            lines.append(f"| {name} | {ours['steady']:,.0f} | {theirs['steady']:,.0f} | {ours['steady'] / theirs['steady']:.2f}× |")
    lines += ["", f"Each figure is the best of {rounds} process(es) per framework. The cold first epoch starts from an "
              "empty compilation cache; the warm one is a second kgraph process on the cache the first filled (Keras "
              "leaves JAX's persistent cache off, so its first epoch is always cold)."]
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
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every model's sample count")
    parser.add_argument("--epochs", type=int, default=1, help="steady epochs timed after the first")
    parser.add_argument("--models", default=",".join(SAMPLES), help="comma-separated families to run")
    parser.add_argument("--rounds", type=int, default=1, help="processes per (model, framework); each figure's best is kept")
    parser.add_argument("--first-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-sources", action="store_true", help="skip the data-source rows")
    parser.add_argument("--write", default=None, help="update this Markdown file's '## Training (fit)' section")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--runner", help=argparse.SUPPRESS)
    parser.add_argument("--family", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    families = [f for f in args.models.split(",") if f]
    unknown = sorted(set(families) - set(SAMPLES))
    if unknown:
        parser.error(f"--models: unknown families {unknown}; expected some of {list(SAMPLES)}")
    samples = {f: max(BATCH * 4, int(SAMPLES[f] * args.scale) // BATCH * BATCH) for f in families}
    if args.rounds < 1:
        parser.error(f"--rounds: expected a positive count, got {args.rounds}")
    results = {}
    for i, family in enumerate(families):
        runs = []
        for r in range(args.rounds):
            order = ["kgraph", "keras"] if (i + r) % 2 == 0 else ["keras", "kgraph"]
            runs.append(measure(family, samples[family], args.epochs, order + (["jax"] if family in HANDWRITTEN else [])))
        results[family] = {runner: best([run[runner] for run in runs]) for runner in runs[0]}
    sources = {}
    if not args.no_sources:
        n = samples.get("mlp", SAMPLES["mlp"]) // 2
        for name, source in (("PyDataset (guide's ExamplePyDataset)", "pydataset"), ("torch DataLoader (shuffled)", "torch")):
            runs = [(spawn("kgraph", "mlp", n, 1, source), spawn("keras", "mlp", n, 1, source)) for _ in range(args.rounds)]
            sources[name] = (best([ours for ours, _ in runs]), best([theirs for _, theirs in runs]))
    section = table(results, sources, samples, args.epochs, args.rounds)
    print(section)
    if args.write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
