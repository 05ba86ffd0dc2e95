"""ONNX inference of Keras' applications: kgraph's export vs Keras 3's own `model.export(format="onnx")`.

For one model of each application family it builds the architecture in kgraph and in Keras 3 (`weights=None`,
a small input, a small classifier), gives both the same random weights, exports both, and reports each file's ONNX
node count (nodes of local functions included), its ONNX Runtime CPU latency at batch 1 (median of N runs, the two
files timed in turn run by run) and how far Keras' file is from kgraph's on the same images. It writes the Markdown
table to docs/benchmarks.md under "## Applications: ONNX inference" and prints it.

    python tools/bench_applications.py [--runs 20] [--size 96] [--families resnet,vgg] [--no-write]

Keras runs on its JAX backend, whose ONNX export needs the `jax2onnx` package; where Keras' export fails, or writes
a file ONNX Runtime cannot run, the table says why instead of a latency.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import onnx  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import kgraph  # noqa: E402
import kgraph.applications  # noqa: E402
from bench_onnx import _short, environment, median_us, node_count, random_weights, session  # noqa: E402
from kgraph.export import export_onnx  # noqa: E402

HEADING = "## Applications: ONNX inference"
CLASSES = 10

# family: (model, minimum input size, extra arguments)
FAMILIES = {
    "resnet": ("ResNet50", 32, {}),
    "resnet_v2": ("ResNet50V2", 32, {}),
    "vgg": ("VGG16", 32, {}),
    "mobilenet": ("MobileNet", 32, {}),
    "mobilenet_v2": ("MobileNetV2", 32, {}),
    "mobilenet_v3": ("MobileNetV3Small", 32, {}),
    "efficientnet": ("EfficientNetB0", 32, {}),
    "efficientnet_v2": ("EfficientNetV2B0", 32, {}),
    "convnext": ("ConvNeXtTiny", 32, {}),
    "densenet": ("DenseNet121", 32, {}),
    "xception": ("Xception", 71, {}),
    "inception_v3": ("InceptionV3", 75, {}),
    "inception_resnet_v2": ("InceptionResNetV2", 75, {}),
    "nasnet": ("NASNetMobile", 32, {}),
}


def keras_applications():
    """Keras' applications with zeros for their random initialization: the weights are replaced before export,
    and Keras' JAX backend would otherwise compile one initializer per weight shape."""
    import keras
    from keras.src.backend import random as keras_random

    def zeros(shape, *args, dtype=None, **kwargs):
        return np.zeros(shape, dtype=dtype or "float32")

    keras_random.normal = keras_random.uniform = keras_random.truncated_normal = zeros
    return keras.applications


def build(api, name: str, size: int, kwargs: dict):
    return getattr(api, name)(weights=None, input_shape=(size, size, 3), classes=CLASSES, **kwargs)


def keras_export(name: str, size: int, kwargs: dict, weights: list, x: np.ndarray, path: Path) -> str | None:
    """Exports Keras' twin of the model with `weights` to `path` (after one call on `x`, which Keras' export needs);
    returns why it failed, or None."""
    try:
        model = build(keras_applications(), name, size, kwargs)
        model.set_weights(weights)
        model(x)
        model.export(str(path), format="onnx", verbose=False)
        return None
    except Exception as e:
        return _short(e)


def bench_family(family: str, size: int, runs: int, threads: int, folder: Path) -> list[dict]:
    """kgraph's row, then Keras' row, for the family's model."""
    name, min_size, kwargs = FAMILIES[family]
    size = max(size, min_size)
    rng = np.random.default_rng(0)
    kg_model = build(kgraph.applications, name, size, kwargs)
    weights = random_weights(kg_model, rng)
    kg_model.set_weights(weights)
    x = rng.uniform(0, 255, (1, size, size, 3)).astype("float32")
    kg_path = folder / f"kgraph_{family}.onnx"
    start = time.perf_counter()
    export_onnx(kg_model, kg_path)
    label = f"{name} ({size}×{size})"
    ours = {"family": family, "model": label, "exporter": "kgraph", "nodes": node_count(onnx.load(kg_path)),
            "export_s": time.perf_counter() - start, "note": ""}
    sessions = [session(kg_path, threads)]
    reference = sessions[0].run(None, {sessions[0].get_inputs()[0].name: x})[0]
    keras_path = folder / f"keras_{family}.onnx"
    start = time.perf_counter()
    failure = keras_export(name, size, kwargs, weights, x, keras_path)
    theirs = {"family": family, "model": label, "exporter": "Keras 3 `model.export`",
              "export_s": time.perf_counter() - start}
    if failure:
        theirs["note"] = f"export failed: {failure}"
    else:
        theirs["nodes"] = node_count(onnx.load(keras_path))
        try:
            keras_session = session(keras_path, threads)
            got = keras_session.run(None, {keras_session.get_inputs()[0].name: x})[0]
            theirs.update(diff=float(np.abs(got - reference).max()), note="")
            sessions.append(keras_session)
        except Exception as e:
            theirs["note"] = f"ONNX Runtime cannot run the file: {_short(e)}"
    for row, latency in zip((ours, theirs), median_us(sessions, x, runs)):
        row["b1"] = latency
    return [ours, theirs]


def table(rows: list[dict], env: str) -> str:
    lines = [
        HEADING, "",
        "kgraph's ONNX export of `kgraph.applications` vs Keras 3's own `model.export(path, format=\"onnx\")` of the "
        f"same architecture (`weights=None`, {CLASSES} classes, softmax top) with the same random weights. Produced by "
        "`python tools/bench_applications.py`; Keras' export on its JAX backend needs `pip install jax2onnx`. "
        "Node counts include nodes inside local functions; export time is the wall time of the export call.", "",
        "| family | model (input) | exporter | ONNX nodes | latency batch 1 (µs) | export (s) | "
        "max abs diff vs kgraph | notes |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        nodes = r.get("nodes", "–")
        latency = f"{r['b1']:.0f}" if "b1" in r else "–"
        diff = "reference" if r["exporter"] == "kgraph" else (f"{r['diff']:.1e}" if "diff" in r else "–")
        lines.append(f"| {r['family']} | {r['model']} | {r['exporter']} | {nodes} | {latency} | "
                     f"{r['export_s']:.1f} | {diff} | {r['note']} |")
    pairs = [(a, b) for a, b in zip(rows[::2], rows[1::2]) if "b1" in b]
    if pairs:
        nodes = np.exp(np.mean([np.log(a["nodes"] / b["nodes"]) for a, b in pairs]))
        latency = np.exp(np.mean([np.log(a["b1"] / b["b1"]) for a, b in pairs]))
        lines += ["", f"Over the {len(pairs)} families whose Keras export runs, geometric means of kgraph / Keras: "
                      f"ONNX nodes **{nodes:.2f}×**, ONNX Runtime latency at batch 1 **{latency:.2f}×**."]
    failed = [a["model"] for a, b in zip(rows[::2], rows[1::2]) if "b1" not in b]
    if failed:
        lines += ["", f"Keras' export fails or does not run for: {', '.join(failed)}; kgraph exports each of them."]
    return "\n".join(lines + ["", env, ""])


def write_section(path: Path, section: str) -> None:
    """Replaces this benchmark's section of `path` (up to the next "## " heading), or appends it at the end."""
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
    parser.add_argument("--runs", type=int, default=20, help="timed runs per file (median reported)")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads, the same for both")
    parser.add_argument("--size", type=int, default=96, help="input height and width (raised to a family's minimum)")
    parser.add_argument("--families", default=",".join(FAMILIES),
                        help=f"comma-separated subset of {', '.join(FAMILIES)}")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print the table without writing docs")
    args = parser.parse_args()
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown families {unknown}; choose from {', '.join(FAMILIES)}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="kgraph-bench-apps-") as tmp:
        for family in families:
            rows += bench_family(family, args.size, args.runs, args.threads, Path(tmp))
            print("\n".join(table(rows[-2:], "").splitlines()[6:8]), file=sys.stderr, flush=True)
    section = table(rows, environment(args.runs, args.threads))
    if not args.no_write:
        write_section(args.output, section)
    print(section)


if __name__ == "__main__":
    main()
