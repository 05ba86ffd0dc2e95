"""One check of kgraph on the machine's accelerator: the training zoo on JAX against Keras 3, and the exported
zoo on ONNX Runtime's CUDA provider (parity against XLA and latency), as one table.

Runs in a few minutes on one NVIDIA GPU. Without one it says so and runs the same checks on the CPU (JAX CPU,
ONNX Runtime's CPU provider) with fewer samples, so the script itself is known to work.

Usage: python tools/device_check.py [--scale 1.0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_fit  # noqa: E402

ONNX_BATCH = 64


def accelerator() -> tuple[str, list[str]]:
    """The JAX platform to train on ("gpu" or "cpu") and ONNX Runtime's providers to try, best first."""
    import jax
    import onnxruntime as ort

    platform = jax.default_backend()
    providers = ["CUDAExecutionProvider"] if "CUDAExecutionProvider" in ort.get_available_providers() else []
    return platform, providers + ["CPUExecutionProvider"]


def onnx_row(family: str, providers: list[str]) -> dict:
    """Exports the family's kgraph model, runs it on ONNX Runtime: max abs error vs XLA, median latency."""
    import numpy as np
    import onnxruntime as ort

    import kgraph
    from kgraph.export import to_onnx

    kgraph.utils.set_random_seed(0)
    model = bench_fit.build(kgraph, family)
    x, _ = bench_fit.data(family, ONNX_BATCH)
    expected = np.asarray(model.predict(x, batch_size=ONNX_BATCH, verbose=0))
    session = ort.InferenceSession(to_onnx(model).SerializeToString(), providers=providers)
    feed = {session.get_inputs()[0].name: x}
    got = session.run(None, feed)[0]
    for _ in range(5):
        session.run(None, feed)
    times = []
    for _ in range(30):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    return {"provider": session.get_providers()[0], "error": float(np.max(np.abs(got - expected))),
            "latency_ms": statistics.median(times) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=None,
                        help="sample-count multiplier for the training zoo (default 1 on a GPU, 0.25 on a CPU)")
    args = parser.parse_args()
    platform, providers = accelerator()
    if platform != "gpu":
        print("No GPU found: JAX runs on the CPU and ONNX Runtime on its CPU provider; the figures check the "
              "script, not a GPU.", flush=True)
    scale = args.scale if args.scale is not None else (1.0 if platform == "gpu" else 0.25)
    samples = {f: max(bench_fit.BATCH * 4, int(n * scale) // bench_fit.BATCH * bench_fit.BATCH)
               for f, n in bench_fit.SAMPLES.items()}
    lines = [f"JAX platform: {platform}; ONNX Runtime providers tried: {', '.join(providers)}", "",
             "| model | steady kgraph/Keras | first epoch kgraph/Keras | predict kgraph/Keras | kgraph steps/s "
             "| ONNX provider | ONNX max abs error vs XLA | ONNX latency batch 64 (ms) |",
             "|---|---:|---:|---:|---:|---|---:|---:|"]
    failures = []
    for i, family in enumerate(bench_fit.SAMPLES):
        runners = ["kgraph", "keras"] if i % 2 == 0 else ["keras", "kgraph"]
        runs = {r: bench_fit.spawn(r, family, samples[family], 1) for r in runners}
        ours, theirs = runs["kgraph"], runs["keras"]
        onnx = onnx_row(family, providers)
        if onnx["error"] > 1e-3:
            failures.append(f"{family}: ONNX Runtime differs from XLA by {onnx['error']:.2e}")
        lines.append(f"| {bench_fit.TITLES[family]} | {ours['steady'] / theirs['steady']:.2f}× | "
                     f"{ours['first'] / theirs['first']:.2f}× | {ours['predict'] / theirs['predict']:.2f}× | "
                     f"{ours['steady']:,.0f} | {onnx['provider']} | {onnx['error']:.1e} | {onnx['latency_ms']:.2f} |")
    print("\n".join(lines))
    if failures:
        print("\n".join(["", "FAILED:"] + failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
