"""Serving benchmark: closed-loop load over loopback against `kgraph serve`, a hand-written Starlette + ONNX Runtime
server that calls `session.run` per request (what users write today), optionally Ray Serve running kgraph's
deployment, and ONNX Runtime in-process at batch 1 and 64 (the engine's own limit).

For the guide's MLP and a small convnet, each exported with kgraph, it runs 1, 8 and 64 clients, each sending
one-row JSON infer requests (the protocol's body, which every server here reads) over keep-alive connections to
127.0.0.1 only, and reports rows/s, p50/p99 latency and errors. Each server runs in its own process, the load
generator in this one; the servers take turns cell by cell. Every load loop is bounded in time and in count.

    python tools/bench_serve.py [--seconds 3] [--clients 1,8,64] [--models mlp,convnet] [--ray] [--write]

--write puts the Markdown table into docs/benchmarks.md under "## Serving" and it is always printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
MAX_REQUESTS = 200_000
SECTION = "## Serving"

HANDWRITTEN = '''
import json, sys
import numpy as np, onnxruntime as ort, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name

async def infer(request):
    body = json.loads(await request.body())
    tensor = body["inputs"][0]
    x = np.array(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
    y = session.run(None, {name: x})[0]
    return JSONResponse({"outputs": [{"name": "y", "datatype": "FP32", "shape": list(y.shape),
                                      "data": y.ravel().tolist()}]})

app = Starlette(routes=[Route("/v2/models/{model}/infer", infer, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
'''


def _models():
    sys.path.insert(0, str(ROOT))
    import kgraph as keras

    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu")(inputs)
    x = keras.layers.Dense(64, activation="relu")(x)
    mlp = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x), name="mlp")
    convnet = keras.Sequential([
        keras.Input(shape=(28, 28, 1), name="image"),
        keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax"),
    ], name="convnet")
    return {"mlp": (mlp, (784,), "digits"), "convnet": (convnet, (28, 28, 1), "image")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _wait_ready(port: int, process: subprocess.Popen, timeout: float) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("POST", "/v2/models/none/infer", b"{}")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start in {timeout:.0f} s")


class Server:
    """A server process for the benchmark, by its HTTP port."""

    def __init__(self, label: str, command: list[str], port: int, timeout: float = 300.0):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.label, self.port = label, port
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_ready(port, self.process, timeout)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def _client(port: int, request: bytes, stop_at: float, latencies: list, counts: dict) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.perf_counter() < stop_at and counts["requests"] < MAX_REQUESTS:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            await reader.readexactly(length)
            counts["requests"] += 1
            if status == 200:
                latencies.append(time.perf_counter() - start)
            else:
                counts["errors"] += 1
    except (OSError, asyncio.IncompleteReadError):
        counts["errors"] += 1
    finally:
        writer.close()


def _request(model: str, shape: tuple, name: str, binary: bool = False) -> bytes:
    """One row as a JSON tensor, or with `binary` in the binary tensor data extension (as tritonclient sends it)."""
    x = np.random.default_rng(0).random((1, *shape), dtype=np.float32)
    tensor = {"name": name, "datatype": "FP32", "shape": list(x.shape)}
    extra = ""
    if binary:
        tensor["parameters"] = {"binary_data_size": x.nbytes}
        head = json.dumps({"inputs": [tensor]}).encode()
        body = head + x.tobytes()
        extra = f"Inference-Header-Content-Length: {len(head)}\r\n"
    else:
        tensor["data"] = x.ravel().tolist()
        body = json.dumps({"inputs": [tensor]}).encode()
    return (f"POST /v2/models/{model}/infer HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"{extra}Content-Length: {len(body)}\r\n\r\n").encode() + body


def load(port: int, request: bytes, clients: int, seconds: float) -> dict:
    """Closed loop: `clients` connections each sending the next request when the last is answered."""
    async def run():
        latencies: list = []
        counts = {"requests": 0, "errors": 0}
        warm = time.perf_counter() + min(0.5, seconds / 4)
        await asyncio.gather(*[_client(port, request, warm, [], {"requests": 0, "errors": 0})
                               for _ in range(clients)])
        start = time.perf_counter()
        await asyncio.gather(*[_client(port, request, start + seconds, latencies, counts) for _ in range(clients)])
        return latencies, counts, time.perf_counter() - start

    latencies, counts, elapsed = asyncio.run(run())
    latencies.sort()
    pick = (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e3) if latencies else (
        lambda q: float("nan"))
    return {"rows/s": len(latencies) / elapsed, "p50": pick(0.5), "p99": pick(0.99), "errors": counts["errors"]}


def in_process(path: Path, shape: tuple, batch: int, seconds: float) -> dict:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    x = np.random.default_rng(0).random((batch, *shape), dtype=np.float32)
    for _ in range(20):
        session.run(None, {name: x})
    times = []
    stop_at = time.perf_counter() + seconds
    while time.perf_counter() < stop_at and len(times) < MAX_REQUESTS:
        start = time.perf_counter()
        session.run(None, {name: x})
        times.append(time.perf_counter() - start)
    times.sort()
    return {"rows/s": batch * len(times) / sum(times), "p50": times[len(times) // 2] * 1e3,
            "p99": times[int(0.99 * len(times))] * 1e3, "errors": 0}


def _table(rows: list[tuple]) -> str:
    lines = ["| model | server | clients | rows/s | p50 (ms) | p99 (ms) | errors |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for model, label, clients, r in rows:
        lines.append(f"| {model} | {label} | {clients} | {r['rows/s']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} "
                     f"| {r['errors']} |")
    return "\n".join(lines)


def _write(table: str, args) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text()
    section = (f"{SECTION}\n\nClosed-loop load over 127.0.0.1 with one-row JSON infer requests "
               f"(`python tools/bench_serve.py --seconds {args.seconds:g}{' --ray' if args.ray else ''}`), "
               f"{os.cpu_count()} CPU cores ({platform.machine()}), the load generator sharing them with the server "
               f"(1-minute load average {os.getloadavg()[0]:.1f} at the end: other work ran on the machine). "
               "*kgraph serve* runs its defaults (dynamic batching up to 64 rows, no queue delay: each batch takes "
               "the requests that queued while the previous one ran; one ONNX Runtime session); *hand-written* is a Starlette endpoint calling `session.run` per request on "
               "uvicorn; *(binary tensors)* sends the same row in the binary tensor data extension, as tritonclient does; "
               "*ORT in-process* is ONNX Runtime's own limit at batch 1 and 64, with no HTTP at all.\n\n"
               f"{table}\n")
    if SECTION in text:
        text = text[:text.index(SECTION)].rstrip() + "\n"
    path.write_text(text.rstrip() + "\n\n" + section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per cell (max 30)")
    parser.add_argument("--clients", default="1,8,64")
    parser.add_argument("--models", default="mlp,convnet")
    parser.add_argument("--ray", action="store_true", help="also Ray Serve (kgraph's deployment, 1 replica)")
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    args.seconds = min(args.seconds, 30.0)
    clients = [int(c) for c in args.clients.split(",")]
    chosen = args.models.split(",")
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    models = _models()
    paths = {}
    for name in chosen:
        paths[name] = folder / f"{name}.onnx"
        models[name][0].export(paths[name])
    rows = []
    servers = []
    try:
        port = _free_port()
        servers.append(Server("kgraph serve", [sys.executable, "-m", "kgraph.cli", "serve", *map(str, paths.values()),
                                               "--port", str(port), "--grpc-port", "0"], port))
        for name, path in paths.items():
            port = _free_port()
            script = folder / "handwritten.py"
            script.write_text(HANDWRITTEN)
            servers.append(Server(f"hand-written ({name})", [sys.executable, str(script), str(path), str(port)], port))
        if args.ray:
            port = _free_port()
            servers.append(Server("Ray Serve (kgraph deployment, 1 replica)", [
                sys.executable, "-m", "kgraph.cli", "serve", *map(str, paths.values()), "--ray", "--port", str(port)],
                port, timeout=600))
        for name in chosen:
            _, shape, input_name = models[name]
            json_request = _request(name, shape, input_name)
            for n in clients:
                for server in servers:
                    if server.label.startswith("hand-written") and f"({name})" not in server.label:
                        continue
                    label = "hand-written Starlette + ORT" if server.label.startswith("hand") else server.label
                    cells = [(label, json_request)]
                    if server.label == "kgraph serve":
                        cells.append((label + " (binary tensors)", _request(name, shape, input_name, binary=True)))
                    for cell, request in cells:
                        result = load(server.port, request, n, args.seconds)
                        rows.append((name, cell, n, result))
                        print(f"{name:8} {cell:36} {n:3} clients: {result['rows/s']:9,.0f} rows/s  "
                              f"p50 {result['p50']:7.2f} ms  p99 {result['p99']:7.2f} ms  errors {result['errors']}",
                              flush=True)
            for batch in (1, 64):
                result = in_process(paths[name], shape, batch, args.seconds)
                rows.append((name, f"ORT in-process, batch {batch}", "–", result))
    finally:
        for server in servers:
            server.stop()
    table = _table(rows)
    print(table)
    if args.write:
        _write(table, args)


if __name__ == "__main__":
    main()
