"""The `kgraph serve --ray` command of docs/serving.md on a local Ray instance: two replicas answer the protocol,
both get traffic, and a killed replica is replaced by Ray while clients keep getting answers."""

from __future__ import annotations

import os
import shlex
import signal
import time

import numpy as np
import pytest

from kgraph.runtime.onnx import OnnxModel
from tests.serving.conftest import ROOT, ServerProcess

pytest.importorskip("ray.serve", reason="the Ray tests need the ray extra")
httpclient = pytest.importorskip("tritonclient.http")


def _documented_command(model: str) -> list[str]:
    """The arguments of the Ray section's `kgraph serve` line, with the exported MLP's path for `mlp.onnx`."""
    section = (ROOT / "docs" / "serving.md").read_text().split("## Scale out on Ray Serve", 1)[1]
    line = next(line for line in section.splitlines() if line.startswith("kgraph serve "))
    return [model if arg == "mlp.onnx" else arg for arg in shlex.split(line)[2:]]


def _ask(client, x: np.ndarray):
    tensor = httpclient.InferInput("digits", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    result = client.infer("mlp", [tensor])
    return result.as_numpy("predictions"), result.get_response()


@pytest.mark.slow
def test_ray_replicas_answer_share_traffic_and_are_replaced(onnx_files):
    x = np.random.default_rng(6).random((4, 784), dtype=np.float32)
    expected = OnnxModel(onnx_files["mlp"]).predict(x)
    args = _documented_command(str(onnx_files["mlp"]))
    assert args[1:] == ["--ray", "--replicas", "2"], args
    server = ServerProcess(*args, timeout=300)
    try:
        client = httpclient.InferenceServerClient(server.url, network_timeout=30)
        assert client.is_server_ready() and client.get_model_metadata("mlp")["inputs"][0]["shape"] == [-1, 784]
        instances = _instances_seen(server.url, x, expected, requests=60)
        assert len(instances) == 2, instances
        victim = int(sorted(instances)[0].rsplit(":", 1)[1])
        os.kill(victim, signal.SIGKILL)
        answered, failed, seen = 0, 0, set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (len(seen - instances) < 1 or answered < 50):
            try:
                got, instance = _one(server.url, x)
            except Exception:
                failed += 1
                time.sleep(0.1)
                continue
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
            answered += 1
            seen.add(instance)
        assert seen - instances, f"Ray did not replace the killed replica in 120 s ({answered} answered)"
        assert failed <= answered // 10, (failed, answered)
        assert server.terminate(120) == 0
    finally:
        server.kill()


def _one(url: str, x: np.ndarray) -> tuple[np.ndarray, str]:
    import http.client
    import json

    head = json.dumps({"inputs": [{"name": "digits", "datatype": "FP32", "shape": list(x.shape),
                                   "data": x.ravel().tolist()}]})
    connection = http.client.HTTPConnection(url, timeout=30)
    connection.request("POST", "/v2/models/mlp/infer", head, {"Content-Type": "application/json"})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {body[:200]!r}")
    output = json.loads(body)["outputs"][0]
    return np.array(output["data"], np.float32).reshape(output["shape"]), response.getheader("x-kgraph-instance")


def _instances_seen(url: str, x: np.ndarray, expected: np.ndarray, requests: int) -> set[str]:
    seen = set()
    for _ in range(requests):
        got, instance = _one(url, x)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
        seen.add(instance)
    return seen
