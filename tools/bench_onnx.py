"""ONNX inference benchmark: kgraph's export vs Keras 3's own `model.export(format="onnx")`, same weights.

For each model of the issue's list it builds the architecture in kgraph and in Keras 3, gives both the same random
weights (biases and BatchNormalization statistics included, so nothing folds away by accident), exports both, and
reports each file's ONNX node count (nodes of local functions included) and its ONNX Runtime CPU latency (median
of N runs at batch 1 and 64, the files timed in turn run by run, the same intra-op thread count for all), how far
Keras' outputs are from kgraph's, and for each kgraph opset asked for the geometric means of kgraph / Keras over the
models Keras exports to a file ONNX Runtime runs. It writes the Markdown table to docs/benchmarks.md under
"## ONNX inference" and prints it.

    python tools/bench_onnx.py [--runs 200] [--threads 1] [--models mlp,cnn] [--opsets 17,23] [--no-write]

Keras runs on its JAX backend, whose ONNX export needs the `jax2onnx` package; where Keras' export fails, or
writes a file ONNX Runtime cannot run, the table says why instead of a latency.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import kgraph  # noqa: E402
from kgraph.export import export_onnx, to_onnx  # noqa: E402

HEADING = "## ONNX inference"
BATCHES = (1, 64)
TARGET_NODES = 0.6
TARGET_LATENCY = 0.8


# --- the models: each takes the API module (kgraph or keras) and returns (model, input dtype) ---

def mlp(api):
    """The guide's MNIST MLP."""
    i = api.Input(shape=(784,), name="digits")
    x = api.layers.Dense(64, activation="relu", name="dense_1")(i)
    x = api.layers.Dense(64, activation="relu", name="dense_2")(x)
    return api.Model(i, api.layers.Dense(10, activation="softmax", name="predictions")(x), name="mlp")


def cnn(api):
    i = api.Input(shape=(28, 28, 3), name="image")
    x = api.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv_1")(i)
    x = api.layers.MaxPooling2D(2, name="pool")(x)
    x = api.layers.Conv2D(32, 3, padding="same", name="conv_2")(x)
    x = api.layers.BatchNormalization(name="bn")(x)
    x = api.layers.ReLU(name="relu")(x)
    x = api.layers.GlobalAveragePooling2D(name="gap")(x)
    return api.Model(i, api.layers.Dense(10, activation="softmax", name="classes")(x), name="cnn")


def conv1d(api):
    i = api.Input(shape=(64, 8), name="signal")
    x = api.layers.Conv1D(16, 5, activation="relu", name="conv")(i)
    return api.Model(i, api.layers.GlobalMaxPooling1D(name="gmp")(x), name="conv1d")


def dense_dropout_ln(api):
    i = api.Input(shape=(32,), name="features")
    x = api.layers.Dense(64, activation="relu", name="dense")(i)
    x = api.layers.Dropout(0.3, name="dropout")(x)
    return api.Model(i, api.layers.LayerNormalization(name="ln")(x), name="dense_dropout_ln")


def lstm(api):
    i = api.Input(shape=(20, 8), name="sequence")
    x = api.layers.LSTM(32, name="lstm")(i)
    return api.Model(i, api.layers.Dense(4, name="out")(x), name="lstm")


def gru(api):
    i = api.Input(shape=(20, 8), name="sequence")
    return api.Model(i, api.layers.GRU(16, return_sequences=True, name="gru")(i), name="gru")


def embedding(api):
    i = api.Input(shape=(24,), dtype="int32", name="ids")
    x = api.layers.Embedding(100, 16, name="embedding")(i)
    return api.Model(i, api.layers.GlobalAveragePooling1D(name="gap")(x), name="embedding")


def transformer(api):
    i = api.Input(shape=(16, 32), name="tokens")
    a = api.layers.MultiHeadAttention(4, 8, name="mha")(i, i)
    x = api.layers.LayerNormalization(name="ln_1")(api.layers.Add(name="residual_1")([i, a]))
    f = api.layers.Dense(64, activation="relu", name="ffn_1")(x)
    f = api.layers.Dense(32, name="ffn_2")(f)
    x = api.layers.LayerNormalization(name="ln_2")(api.layers.Add(name="residual_2")([x, f]))
    return api.Model(i, x, name="transformer")


def pool_flatten(api):
    i = api.Input(shape=(16, 16, 4), name="image")
    x = api.layers.MaxPooling2D(2, name="pool")(i)
    x = api.layers.Flatten(name="flatten")(x)
    return api.Model(i, api.layers.Dense(10, name="dense")(x), name="pool_flatten")


def separable(api):
    i = api.Input(shape=(16, 16, 3), name="image")
    x = api.layers.SeparableConv2D(8, 3, padding="same", name="separable")(i)
    x = api.layers.UpSampling2D(2, name="upsample")(x)
    return api.Model(i, api.layers.Conv2D(4, 3, padding="same", name="conv")(x), name="separable")


MODELS: dict[str, tuple[str, Callable]] = {
    "mlp": ("MLP (guide)", mlp),
    "cnn": ("Conv2D→MaxPool→Conv2D→BN→ReLU→GAP→Dense", cnn),
    "conv1d": ("Conv1D→GlobalMaxPooling1D", conv1d),
    "dense_dropout_ln": ("Dense→Dropout→LayerNormalization", dense_dropout_ln),
    "lstm": ("LSTM(32)→Dense", lstm),
    "gru": ("GRU(16, return_sequences)", gru),
    "embedding": ("Embedding(int ids)→GlobalAveragePooling1D", embedding),
    "transformer": ("MultiHeadAttention + residual + LayerNormalization block", transformer),
    "pool_flatten": ("MaxPooling2D→Flatten→Dense", pool_flatten),
    "separable": ("SeparableConv2D→UpSampling2D→Conv2D", separable),
}


def random_weights(model, rng: np.random.Generator) -> list[np.ndarray]:
    """Small random weights for every variable; variances positive, as BatchNormalization's must be."""
    weights = []
    for variable in model.weights:
        shape = tuple(variable.shape)
        if "variance" in variable.path:
            weights.append(rng.uniform(0.5, 1.5, shape).astype("float32"))
        else:
            weights.append((rng.standard_normal(shape) * 0.2).astype("float32"))
    return weights


def inputs_for(model, batch: int, rng: np.random.Generator) -> np.ndarray:
    spec = model.inputs[0]
    shape = (batch,) + tuple(spec.shape[1:])
    if "int" in str(spec.dtype):
        return rng.integers(0, 100, shape).astype("int32")
    return rng.standard_normal(shape).astype("float32")


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def median_us(sessions: list[ort.InferenceSession], x: np.ndarray, runs: int) -> list[float]:
    """Each session's median latency on `x`, the sessions timed in turn run by run, so that a machine busy for a
    while slows them alike."""
    feeds = [{sess.get_inputs()[0].name: x} for sess in sessions]
    for _ in range(max(10, runs // 10)):
        for sess, feed in zip(sessions, feeds):
            sess.run(None, feed)
    times: list[list[float]] = [[] for _ in sessions]
    for _ in range(runs):
        for sess, feed, t in zip(sessions, feeds, times):
            start = time.perf_counter()
            sess.run(None, feed)
            t.append(time.perf_counter() - start)
    return [statistics.median(t) * 1e6 for t in times]


def node_count(model: onnx.ModelProto) -> int:
    return len(model.graph.node) + sum(len(f.node) for f in model.functions)


def _short(error: Exception) -> str:
    text = " ".join(str(error).split())
    runtime = re.search(r"running (\w+) node.*Status Message: (.*)", text)
    if runtime:  # ONNX Runtime's messages: the op and its reason, without the source path before it
        return f"{runtime.group(1)} node: {runtime.group(2).split(': ')[-1][:100]}"
    return f"{type(error).__name__}: {text[:110]}"


def keras_export(factory: Callable, weights: list[np.ndarray], x: np.ndarray, path: Path) -> str | None:
    """Exports the Keras 3 twin of a model, with `weights`, to `path`; returns why it failed, or None."""
    try:
        import keras

        model = factory(keras)
        model(x[:1])
        model.set_weights(weights)
        model.export(str(path), format="onnx", verbose=False)
        return None
    except Exception as e:
        return _short(e)


def bench_model(key: str, runs: int, threads: int, folder: Path, opsets: tuple[int, ...] = (17,)) -> list[dict]:
    """One kgraph row per opset, then Keras' row, for the model `key`."""
    label, factory = MODELS[key]
    rng = np.random.default_rng(0)
    kg_model = factory(kgraph)
    weights = random_weights(kg_model, rng)
    kg_model.set_weights(weights)
    inputs = {b: inputs_for(kg_model, b, rng) for b in BATCHES}
    rows, sessions = [], []
    for opset in opsets:
        kg_path = folder / f"kgraph_{key}_{opset}.onnx"
        result = export_onnx(kg_model, kg_path, verify=True, opset=opset)
        sessions.append(session(kg_path, threads))
        unoptimized = node_count(to_onnx(kg_model, opset=opset, optimize=False))
        rows.append({"key": key, "model": label, "exporter": "kgraph", "opset": result.opset,
                     "nodes": node_count(onnx.load(kg_path)), "diff": None,
                     "note": f"verified vs XLA (max abs error {result.verification.max_abs_error:.1e}); "
                             f"{unoptimized} nodes without the export passes"})
    reference = sessions[0].run(None, {sessions[0].get_inputs()[0].name: inputs[64]})[0]
    keras_path = folder / f"keras_{key}.onnx"
    failure = keras_export(factory, weights, inputs[1], keras_path)
    row = {"key": key, "model": label, "exporter": "Keras 3 `model.export`"}
    if failure:
        row["note"] = f"export failed: {failure}"
    else:
        keras_model = onnx.load(keras_path)
        row.update(exporter=f"Keras 3 `model.export` ({keras_model.producer_name})",
                   opset=keras_model.opset_import[0].version, nodes=node_count(keras_model))
        try:
            keras_session = session(keras_path, threads)
            got = keras_session.run(None, {keras_session.get_inputs()[0].name: inputs[64]})[0]
            row.update(diff=float(np.abs(got - reference).max()), note="")
            sessions.append(keras_session)
        except Exception as e:
            row["note"] = f"ONNX Runtime cannot run the file: {_short(e)}"
    timed = rows + ([row] if len(sessions) > len(rows) else [])
    for b in BATCHES:
        for r, latency in zip(timed, median_us(sessions, inputs[b], runs)):
            r[f"b{b}"] = latency
    return rows + [row]


def geometric_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def summary(rows: list[dict]) -> list[str]:
    """Per kgraph opset, geometric means of kgraph / Keras over the models whose Keras export runs, vs the targets."""
    keras = {r["key"]: r for r in rows if r["exporter"] != "kgraph"}
    lines = []
    for opset in sorted({r["opset"] for r in rows if r["exporter"] == "kgraph"}):
        ours = [r for r in rows if r["exporter"] == "kgraph" and r["opset"] == opset]
        pairs = [(r, keras[r["key"]]) for r in ours if "b64" in keras[r["key"]]]
        n = geometric_mean([a["nodes"] / b["nodes"] for a, b in pairs])
        lat = geometric_mean([a["b64"] / b["b64"] for a, b in pairs])
        lines.append(f"kgraph at opset {opset}, over the {len(pairs)} models whose Keras export runs, geometric means "
                     f"of kgraph / Keras: ONNX nodes **{n:.2f}×** (target ≤ {TARGET_NODES}×: "
                     f"{'met' if n <= TARGET_NODES else 'missed'}), ONNX Runtime latency at batch 64 **{lat:.2f}×** "
                     f"(target ≤ {TARGET_LATENCY}×: {'met' if lat <= TARGET_LATENCY else 'missed'}).")
    failed = [MODELS[key][0] for key, r in keras.items() if "b64" not in r]
    if failed:
        lines.append(f"Keras' export fails or does not run for: {'; '.join(failed)}; kgraph exports each of them "
                     "and matches XLA.")
    return lines


def environment(runs: int, threads: int) -> str:
    import keras

    return (f"ONNX Runtime {ort.__version__} CPU, intra_op_num_threads={threads}, median of {runs} runs after "
            f"warm-up, the files of a model timed in turn; kgraph {kgraph.__version__} (dynamic batch), Keras "
            f"{keras.__version__} (JAX backend), "
            f"onnx {onnx.__version__}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}.")


def table(rows: list[dict], env: str) -> str:
    lines = [
        HEADING, "",
        "kgraph's ONNX export vs Keras 3's own `model.export(path, format=\"onnx\")` of the same architecture with "
        "the same random weights. Produced by `python tools/bench_onnx.py`; Keras' export on its JAX backend needs "
        "`pip install jax2onnx`. Node counts include nodes inside local functions.", "",
        "kgraph's export runs the IR's export pipeline (`kgraph.ir.passes.EXPORT_PIPELINE`: weights frozen and "
        "constant-folded, Dropout removed, BatchNormalization folded into the kernel before it, channels-first layout "
        "with transposes only at the graph's boundaries, Gemm, Conv with bias, Resize and, from opset 23, Attention) "
        "and then folds what the ONNX rules do to weights; the notes give the node count of "
        "`to_onnx(model, optimize=False)`, the traced graph lowered as it is.", "",
        "| model | exporter | opset | ONNX nodes | latency batch 1 (µs) | latency batch 64 (µs) | "
        "max abs diff vs kgraph | notes |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if "nodes" not in r:
            lines.append(f"| {r['model']} | {r['exporter']} | – | – | – | – | – | {r['note']} |")
        elif "b64" not in r:
            lines.append(f"| {r['model']} | {r['exporter']} | {r['opset']} | {r['nodes']} | – | – | – | "
                         f"{r['note']} |")
        else:
            diff = "reference" if r["diff"] is None else f"{r['diff']:.1e}"
            lines.append(f"| {r['model']} | {r['exporter']} | {r['opset']} | {r['nodes']} | {r['b1']:.1f} | "
                         f"{r['b64']:.1f} | {diff} | {r['note']} |")
    lines += ["", *summary(rows), "", env, ""]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Replaces the "## ONNX inference" section of `path` (up to the next "## " heading), or appends it."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find(HEADING + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="timed runs per measurement (median reported)")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads, the same for both")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {', '.join(MODELS)}")
    parser.add_argument("--opsets", default="17", help="kgraph's export opsets, comma-separated (default 17, "
                        "kgraph's default); the first is the reference of Keras' diff column")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print the table without writing docs")
    args = parser.parse_args()
    keys = [k.strip() for k in args.models.split(",") if k.strip()]
    unknown = sorted(set(keys) - set(MODELS))
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {', '.join(MODELS)}")
    opsets = tuple(int(o) for o in args.opsets.split(","))
    rows = []
    with tempfile.TemporaryDirectory(prefix="kgraph-bench-") as tmp:
        for key in keys:
            rows += bench_model(key, args.runs, args.threads, Path(tmp), opsets)
            print(f"{key}: done", file=sys.stderr)
    section = table(rows, environment(args.runs, args.threads))
    if not args.no_write:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        write_section(args.output, section)
    print(section)


if __name__ == "__main__":
    main()
