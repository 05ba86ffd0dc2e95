"""Every client mistake gets its protocol status and a one-line `{"error": ...}`, never a 500 or a traceback, and
the server keeps serving after each; gRPC maps the same cases to status codes."""

from __future__ import annotations

import http.client
import json

import grpc
import numpy as np
import pytest
from tritonclient.grpc import service_pb2, service_pb2_grpc

GOOD = {"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}
B = {"name": "b", "datatype": "INT64", "shape": [1, 3], "data": [1, 2, 3]}


def _request(server, method: str, path: str, body: bytes | str | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection(server.url, timeout=30)
    connection.request(method, path, body, headers or {})
    response = connection.getresponse()
    return response.status, response.read(), dict(response.getheaders())


def _infer(body) -> bytes:
    return json.dumps(body).encode() if not isinstance(body, (bytes, str)) else body


def _binary_body(header: dict, blob: bytes) -> tuple[bytes, dict]:
    head = json.dumps(header).encode()
    return head + blob, {"Inference-Header-Content-Length": str(len(head))}


CASES = {
    "malformed JSON": (400, "/v2/models/two_io/infer", b'{"inputs": [', None, "not valid JSON"),
    "not an object": (400, "/v2/models/two_io/infer", b"[1, 2]", None, "must be a JSON object"),
    "missing inputs": (400, "/v2/models/two_io/infer", {"id": "x"}, None, "no 'inputs'"),
    "unknown input": (400, "/v2/models/two_io/infer", {"inputs": [GOOD, B, dict(GOOD, name="c")]}, None,
                      "unknown input 'c'"),
    "missing input": (400, "/v2/models/two_io/infer", {"inputs": [GOOD]}, None, "missing inputs ['b']"),
    "wrong datatype": (400, "/v2/models/two_io/infer", {"inputs": [dict(GOOD, datatype="FP64"), B]}, None,
                       "expected datatype FP32, got FP64"),
    "unknown datatype": (400, "/v2/models/two_io/infer", {"inputs": [dict(GOOD, datatype="FLOAT"), B]}, None,
                         "unknown datatype 'FLOAT'"),
    "shape times dtype is not the data length": (400, "/v2/models/two_io/infer",
                                                 {"inputs": [dict(GOOD, shape=[2, 4]), B]}, None,
                                                 "holds 8 values, 'data' has 4"),
    "ragged nested data": (400, "/v2/models/two_io/infer",
                           {"inputs": [dict(GOOD, shape=[2, 4], data=[[1, 2, 3, 4], [1, 2]]), B]}, None, "ragged"),
    "negative dim": (400, "/v2/models/two_io/infer", {"inputs": [dict(GOOD, shape=[-1, 4]), B]}, None,
                     "negative dim"),
    "wrong inner dim": (400, "/v2/models/two_io/infer", {"inputs": [dict(GOOD, shape=[1, 5], data=[0] * 5), B]},
                        None, "expected shape [-1, 4]"),
    "floats for an INT64 input": (400, "/v2/models/two_io/infer", {"inputs": [GOOD, dict(B, data=[1.5, 2, 3])]},
                                  None, "not INT64"),
    "rows differ between inputs": (400, "/v2/models/two_io/infer",
                                   {"inputs": [GOOD, dict(B, shape=[2, 3], data=[1] * 6)]}, None, "same number of rows"),
    "unknown output": (400, "/v2/models/two_io/infer", {"inputs": [GOOD, B], "outputs": [{"name": "zz"}]}, None,
                       "unknown outputs ['zz']"),
    "unknown model": (404, "/v2/models/nope/infer", {"inputs": [GOOD]}, None, "unknown model 'nope'"),
    "unknown version": (404, "/v2/models/two_io/versions/9/infer", {"inputs": [GOOD, B]}, None, "no version '9'"),
    "unknown route": (404, "/v3/anything", {"inputs": []}, None, "no route /v3/anything"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_request_gets_its_status_and_one_line(server, case):
    status, path, body, headers, message = CASES[case]
    got, content, response_headers = _request(server, "POST", path, _infer(body), headers)
    assert got == status, content
    error = json.loads(content)
    assert list(error) == ["error"] and message in error["error"] and "\n" not in error["error"]
    assert "Traceback" not in error["error"]
    assert _request(server, "GET", "/v2/health/ready")[0] == 200


def test_binary_header_length_past_the_body(server):
    body, headers = _binary_body({"inputs": [GOOD, B]}, b"")
    headers["Inference-Header-Content-Length"] = str(len(body) + 10)
    status, content, _ = _request(server, "POST", "/v2/models/two_io/infer", body, headers)
    assert status == 400 and "Inference-Header-Content-Length" in json.loads(content)["error"]


def test_binary_size_past_the_body_and_wrong_byte_count(server):
    a = {"name": "a", "datatype": "FP32", "shape": [1, 4], "parameters": {"binary_data_size": 16}}
    body, headers = _binary_body({"inputs": [a, B]}, b"\0" * 8)
    status, content, _ = _request(server, "POST", "/v2/models/two_io/infer", body, headers)
    assert status == 400 and "runs past the end" in json.loads(content)["error"]
    a["parameters"]["binary_data_size"] = 12
    body, headers = _binary_body({"inputs": [a, B]}, b"\0" * 12)
    status, content, _ = _request(server, "POST", "/v2/models/two_io/infer", body, headers)
    assert status == 400 and "needs 16 bytes, got 12" in json.loads(content)["error"]


def test_wrong_method_is_405(server):
    status, content, headers = _request(server, "GET", "/v2/models/two_io/infer")
    assert status == 405 and "method GET is not allowed" in json.loads(content)["error"]
    assert _request(server, "DELETE", "/v2/health/live")[0] == 405


def test_body_past_max_request_bytes_is_413(server):
    status, content, _ = _request(server, "POST", "/v2/models/two_io/infer", b"x" * (64 * 2**20 + 1))
    assert status == 413 and "limit" in json.loads(content)["error"]
    assert _request(server, "GET", "/v2/health/live")[0] == 200


GRPC_CASES = {
    "unknown model": ("nope", "a", "FP32", [1, 4], grpc.StatusCode.NOT_FOUND),
    "unknown input": ("two_io", "zz", "FP32", [1, 4], grpc.StatusCode.INVALID_ARGUMENT),
    "wrong datatype": ("two_io", "a", "FP64", [1, 4], grpc.StatusCode.INVALID_ARGUMENT),
    "wrong byte count": ("two_io", "a", "FP32", [2, 4], grpc.StatusCode.INVALID_ARGUMENT),
}


@pytest.mark.parametrize("case", sorted(GRPC_CASES))
def test_grpc_maps_mistakes_to_status_codes(server, case):
    model, name, datatype, shape, code = GRPC_CASES[case]
    request = service_pb2.ModelInferRequest(model_name=model)
    request.inputs.add(name=name, datatype=datatype, shape=shape)
    request.inputs.add(name="b", datatype="INT64", shape=[1, 3])
    request.raw_input_contents.extend([np.zeros(4, np.float32).tobytes(), np.zeros(3, np.int64).tobytes()])
    with grpc.insecure_channel(server.grpc_url) as channel:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.ModelInfer(request, timeout=30)
        assert raised.value.code() == code and "\n" not in raised.value.details()
        assert stub.ServerReady(service_pb2.ServerReadyRequest(), timeout=30).ready


def test_grpc_message_past_max_request_bytes(server):
    request = service_pb2.ModelInferRequest(model_name="two_io")
    request.inputs.add(name="a", datatype="FP32", shape=[2**22 + 1, 4])
    request.raw_input_contents.append(bytes(16 * (2**22 + 1)))
    with grpc.insecure_channel(server.grpc_url) as channel:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.ModelInfer(request, timeout=30)
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert stub.ServerLive(service_pb2.ServerLiveRequest(), timeout=30).live
