"""Dynamic batching under concurrency: every answer equals the single-request answer, batches grow past one row,
requests of different inner dims are batched apart, oversized requests are split."""

from __future__ import annotations

import re
import threading
import time
import urllib.request

import numpy as np
import tritonclient.http as httpclient

from kgraph.runtime.onnx import OnnxModel


def _batch_counts(server) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://{server.url}/metrics", timeout=30).read().decode()
    return {m: float(v) for m, v in re.findall(r'kgraph_batch_size_count\{model="(\w+)"\} (\S+)', text)} | {
        "sum_" + m: float(v) for m, v in re.findall(r'kgraph_batch_size_sum\{model="(\w+)"\} (\S+)', text)}


def _infer(client, name: str, array: np.ndarray, datatype: str = "FP32") -> np.ndarray:
    tensor = httpclient.InferInput("image" if name == "convnet" else "token_ids", list(array.shape), datatype)
    tensor.set_data_from_numpy(array)
    return client.infer(name, [tensor]).as_numpy("predictions" if name == "convnet" else "classes")


def test_32_clients_get_their_own_rows(server, onnx_files):
    reference = OnnxModel(onnx_files["convnet"], providers=["CPUExecutionProvider"])
    before = _batch_counts(server)
    rng = np.random.default_rng(1)
    requests = [[rng.random((int(rng.integers(1, 6)), 28, 28, 1), dtype=np.float32) for _ in range(25)]
                for _ in range(32)]
    failures: list[str] = []
    deadline = time.monotonic() + 120

    def client_loop(arrays):
        client = httpclient.InferenceServerClient(server.url, network_timeout=60)
        for array in arrays:
            if time.monotonic() > deadline:
                failures.append("time limit")
                return
            got = _infer(client, "convnet", array)
            if got.shape != (len(array), 10) or not np.allclose(got, reference.predict(array), rtol=0, atol=1e-6):
                failures.append(f"wrong answer for {len(array)} rows")

    threads = [threading.Thread(target=client_loop, args=(arrays,)) for arrays in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert not failures, failures[:5]
    after = _batch_counts(server)
    batches = after["convnet"] - before.get("convnet", 0)
    rows = after["sum_convnet"] - before.get("sum_convnet", 0)
    assert rows == sum(len(a) for arrays in requests for a in arrays)
    assert batches < 32 * 25, "no request was batched with another"


def test_different_inner_dims_are_batched_apart(server, onnx_files):
    reference = OnnxModel(onnx_files["tokens"], providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(2)
    arrays = [rng.integers(0, 50, (2, length), dtype=np.int32) for length in (3, 5, 8, 3, 5, 8) * 4]
    results: dict[int, np.ndarray] = {}

    def send(i):
        results[i] = _infer(httpclient.InferenceServerClient(server.url), "tokens", arrays[i], "INT32")

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(arrays))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for i, array in enumerate(arrays):
        np.testing.assert_allclose(results[i], reference.predict(array), rtol=0, atol=1e-6)


def test_request_larger_than_max_batch_is_split(server, onnx_files):
    reference = OnnxModel(onnx_files["convnet"], providers=["CPUExecutionProvider"])
    array = np.random.default_rng(3).random((40, 28, 28, 1), dtype=np.float32)
    before = _batch_counts(server)
    got = _infer(httpclient.InferenceServerClient(server.url), "convnet", array)
    np.testing.assert_allclose(got, reference.predict(array), rtol=0, atol=1e-6)
    assert _batch_counts(server)["convnet"] - before["convnet"] == 3


def test_bad_values_fail_only_their_own_request(server, onnx_files):
    reference = OnnxModel(onnx_files["tokens"], providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    arrays = [rng.integers(0, 50, (2, 6), dtype=np.int32) for _ in range(12)]
    arrays[5][1, 2] = 99
    results: dict[int, object] = {}

    def send(i):
        try:
            results[i] = _infer(httpclient.InferenceServerClient(server.url), "tokens", arrays[i], "INT32")
        except Exception as e:
            results[i] = e

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(arrays))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    error = results.pop(5)
    assert "400" in str(error.status()) and "ONNX Runtime refused the input" in str(error), error
    for i, got in results.items():
        np.testing.assert_allclose(got, reference.predict(arrays[i]), rtol=0, atol=1e-6)
