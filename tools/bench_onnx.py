"""ONNX inference benchmark: kgraph's export vs Keras 3's own `model.export(format="onnx")`, same weights.

For the guide's MNIST MLP (and the same MLP with Dropout) it reports each file's ONNX node count and its ONNX
Runtime CPU latency (median of N runs, batch 1 and 64, the same intra-op thread count for both), writes the
Markdown table to docs/benchmarks.md under "## ONNX inference" and prints it.

    python tools/bench_onnx.py [--runs 200] [--threads 1] [--no-write]

Keras runs on its JAX backend, whose ONNX export needs the `jax2onnx` package; when Keras' export fails the
table says why instead of a latency.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import kgraph  # noqa: E402
from kgraph.export import export_onnx  # noqa: E402

HEADING = "## ONNX inference"
BATCHES = (1, 64)


def build(api, dropout: bool):
    """The guide's MLP (784 → 64 → 64 → 10) in `api` (kgraph or keras), optionally with Dropout(0.5) twice."""
    inputs = api.Input(shape=(784,), name="digits")
    x = api.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    if dropout:
        x = api.layers.Dropout(0.5, name="dropout_1")(x)
    x = api.layers.Dense(64, activation="relu", name="dense_2")(x)
    if dropout:
        x = api.layers.Dropout(0.5, name="dropout_2")(x)
    outputs = api.layers.Dense(10, activation="softmax", name="predictions")(x)
    return api.Model(inputs=inputs, outputs=outputs, name="mlp_dropout" if dropout else "mlp")


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def median_us(sess: ort.InferenceSession, x: np.ndarray, runs: int) -> float:
    feed = {sess.get_inputs()[0].name: x}
    for _ in range(max(10, runs // 10)):
        sess.run(None, feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def keras_export(kg_model, dropout: bool, path: Path) -> str | None:
    """Exports the Keras 3 twin of `kg_model` (same weights) to `path`; returns why it failed, or None."""
    try:
        import keras

        model = build(keras, dropout)
        model(np.zeros((1, 784), "float32"))
        model.set_weights(kg_model.get_weights())
        model.export(str(path), format="onnx", verbose=False)
        return None
    except Exception as e:
        return f"{type(e).__name__}: {' '.join(str(e).split())[:120]}"


def bench(runs: int, threads: int, folder: Path) -> tuple[list[dict], str]:
    rows = []
    rng = np.random.default_rng(0)
    inputs = {b: rng.normal(size=(b, 784)).astype("float32") for b in BATCHES}
    for dropout in (False, True):
        kg_model = build(kgraph, dropout)
        name = "MLP + Dropout" if dropout else "MLP (guide)"
        kg_path = folder / f"kgraph_{kg_model.name}.onnx"
        result = export_onnx(kg_model, kg_path, verify=True)
        kg_session = session(kg_path, threads)
        reference = kg_session.run(None, {"digits": inputs[64]})[0]
        rows.append({"model": name, "exporter": "kgraph", "opset": result.opset,
                     "nodes": len(onnx.load(kg_path).graph.node),
                     **{f"b{b}": median_us(kg_session, inputs[b], runs) for b in BATCHES},
                     "diff": None, "note": f"verified vs XLA: max abs error {result.verification.max_abs_error:.1e}"})
        keras_path = folder / f"keras_{kg_model.name}.onnx"
        failure = keras_export(kg_model, dropout, keras_path)
        if failure:
            rows.append({"model": name, "exporter": "Keras 3 `model.export`", "note": f"export failed: {failure}"})
            continue
        keras_model = onnx.load(keras_path)
        keras_session = session(keras_path, threads)
        got = keras_session.run(None, {keras_session.get_inputs()[0].name: inputs[64]})[0]
        functions = sum(len(f.node) for f in keras_model.functions)
        rows.append({"model": name, "exporter": f"Keras 3 `model.export` ({keras_model.producer_name})",
                     "opset": keras_model.opset_import[0].version,
                     "nodes": len(keras_model.graph.node) + functions,
                     **{f"b{b}": median_us(keras_session, inputs[b], runs) for b in BATCHES},
                     "diff": float(np.abs(got - reference).max()), "note": ""})
    import keras

    env = (f"ONNX Runtime {ort.__version__} CPU, intra_op_num_threads={threads}, median of {runs} runs after "
           f"warm-up; kgraph {kgraph.__version__}, Keras {keras.__version__} (JAX backend), onnx {onnx.__version__}, "
           f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.")
    return rows, env


def table(rows: list[dict], env: str) -> str:
    lines = [
        HEADING, "",
        "kgraph's ONNX export vs Keras 3's own `model.export(path, format=\"onnx\")` of the same architecture with "
        "the same weights. Produced by `python tools/bench_onnx.py`; Keras' export on its JAX backend needs "
        "`pip install jax2onnx`.", "",
        "| model | exporter | opset | ONNX nodes | latency batch 1 (µs) | latency batch 64 (µs) | "
        "max abs diff vs kgraph | notes |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if "nodes" not in r:
            lines.append(f"| {r['model']} | {r['exporter']} | – | – | – | – | – | {r['note']} |")
            continue
        diff = "reference" if r["diff"] is None else f"{r['diff']:.1e}"
        lines.append(f"| {r['model']} | {r['exporter']} | {r['opset']} | {r['nodes']} | {r['b1']:.1f} | "
                     f"{r['b64']:.1f} | {diff} | {r['note']} |")
    lines += ["", env, ""]
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
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print the table without writing docs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kgraph-bench-") as tmp:
        rows, env = bench(args.runs, args.threads, Path(tmp))
    section = table(rows, env)
    if not args.no_write:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        write_section(args.output, section)
    print(section)


if __name__ == "__main__":
    main()
