"""The Open Inference Protocol against a real `kgraph serve`: tritonclient over HTTP (binary and JSON tensors) and
gRPC, and raw HTTP; outputs equal OnnxModel.predict on the same file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

from kgraph.runtime.onnx import OnnxModel

RNG = np.random.default_rng(0)


def _inputs(name: str, rows: int) -> dict[str, np.ndarray]:
    if name == "mlp":
        return {"digits": RNG.random((rows, 784), dtype=np.float32)}
    if name == "convnet":
        return {"image": RNG.random((rows, 28, 28, 1), dtype=np.float32)}
    if name == "two_io":
        return {"a": RNG.standard_normal((rows, 4)).astype(np.float32), "b": RNG.integers(-5, 5, (rows, 3))}
    return {"token_ids": RNG.integers(0, 50, (rows, 7), dtype=np.int32)}


def _expected(onnx_files, name: str, inputs: dict) -> dict[str, np.ndarray]:
    model = OnnxModel(onnx_files[name], providers=["CPUExecutionProvider"])
    outputs = model.predict(inputs)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return dict(zip(model.output_names, outputs))


def _client_inputs(module, inputs: dict, binary: bool):
    tensors = []
    for name, array in inputs.items():
        tensor = module.InferInput(name, list(array.shape), "INT64" if array.dtype == np.int64 else
                                   {np.dtype("float32"): "FP32", np.dtype("int32"): "INT32"}[array.dtype])
        if module is httpclient:
            tensor.set_data_from_numpy(array, binary_data=binary)
        else:
            tensor.set_data_from_numpy(array)
        tensors.append(tensor)
    return tensors


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize("name", ["mlp", "convnet", "two_io", "tokens"])
def test_http_infer_equals_predict(server, onnx_files, name, binary):
    client = httpclient.InferenceServerClient(server.url)
    inputs = _inputs(name, 3)
    expected = _expected(onnx_files, name, inputs)
    outputs = [httpclient.InferRequestedOutput(n, binary_data=binary) for n in expected]
    result = client.infer(name, _client_inputs(httpclient, inputs, binary), outputs=outputs, request_id="req-7")
    assert result.get_response()["id"] == "req-7"
    for output, want in expected.items():
        np.testing.assert_allclose(result.as_numpy(output), want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["mlp", "two_io", "tokens"])
def test_grpc_infer_equals_predict(server, onnx_files, name):
    client = grpcclient.InferenceServerClient(server.grpc_url)
    inputs = _inputs(name, 5)
    expected = _expected(onnx_files, name, inputs)
    result = client.infer(name, _client_inputs(grpcclient, inputs, True), request_id="g-1")
    assert result.get_response().id == "g-1"
    for output, want in expected.items():
        np.testing.assert_allclose(result.as_numpy(output), want, rtol=0, atol=1e-6)


def test_health_and_metadata_over_http_and_grpc(server):
    for client in (httpclient.InferenceServerClient(server.url), grpcclient.InferenceServerClient(server.grpc_url)):
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("convnet") and client.is_model_ready("convnet", "1")
        assert not client.is_model_ready("nope")
    metadata = httpclient.InferenceServerClient(server.url).get_model_metadata("two_io")
    assert metadata == {"name": "two_io", "versions": ["1"], "platform": "onnxruntime_onnx",
                        "inputs": [{"name": "a", "datatype": "FP32", "shape": [-1, 4]},
                                   {"name": "b", "datatype": "INT64", "shape": [-1, 3]}],
                        "outputs": [{"name": "scores", "datatype": "FP32", "shape": [-1, 2]},
                                    {"name": "probability", "datatype": "FP32", "shape": [-1, 1]}]}
    grpc_metadata = grpcclient.InferenceServerClient(server.grpc_url).get_model_metadata("tokens", as_json=True)
    assert grpc_metadata["inputs"] == [{"name": "token_ids", "datatype": "INT32", "shape": ["-1", "-1"]}]
    server_metadata = httpclient.InferenceServerClient(server.url).get_server_metadata()
    assert server_metadata["name"] == "kgraph" and "binary_tensor_data" in server_metadata["extensions"]


def test_startup_lines_list_models_and_urls(server):
    text = "\n".join(server.lines)
    assert "model 'mlp' version 1: inputs [digits FP32[-1, 784]] -> outputs [predictions FP32[-1, 10]]" in text
    assert f"POST http://{server.url}/v2/models/convnet/infer" in text
    assert f"gRPC: {server.grpc_url}" in text


def test_json_nested_data_outputs_choice_and_versions(server, onnx_files):
    import http.client

    inputs = _inputs("two_io", 2)
    expected = _expected(onnx_files, "two_io", inputs)
    body = {"id": "n", "inputs": [{"name": "a", "datatype": "FP32", "shape": [2, 4], "data": inputs["a"].tolist()},
                                  {"name": "b", "datatype": "INT64", "shape": [2, 3], "data": inputs["b"].tolist()}],
            "outputs": [{"name": "probability"}], "parameters": {"note": "ignored"}}
    connection = http.client.HTTPConnection(server.url, timeout=30)
    connection.request("POST", "/v2/models/two_io/versions/1/infer", json.dumps(body),
                       {"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = json.loads(response.read())
    assert response.status == 200 and answer["id"] == "n" and answer["model_version"] == "1"
    assert [o["name"] for o in answer["outputs"]] == ["probability"]
    (output,) = answer["outputs"]
    assert output["datatype"] == "FP32" and output["shape"] == [2, 1]
    np.testing.assert_allclose(np.array(output["data"], np.float32).reshape(2, 1), expected["probability"],
                               rtol=0, atol=1e-6)


def test_grpc_typed_contents(server, onnx_files):
    from tritonclient.grpc import service_pb2, service_pb2_grpc
    import grpc

    inputs = _inputs("two_io", 2)
    expected = _expected(onnx_files, "two_io", inputs)
    request = service_pb2.ModelInferRequest(model_name="two_io")
    a = request.inputs.add(name="a", datatype="FP32", shape=[2, 4])
    a.contents.fp32_contents.extend(inputs["a"].ravel().tolist())
    b = request.inputs.add(name="b", datatype="INT64", shape=[2, 3])
    b.contents.int64_contents.extend(inputs["b"].ravel().tolist())
    request.outputs.add(name="scores")
    with grpc.insecure_channel(server.grpc_url) as channel:
        response = service_pb2_grpc.GRPCInferenceServiceStub(channel).ModelInfer(request, timeout=30)
    assert [o.name for o in response.outputs] == ["scores"]
    got = np.frombuffer(response.raw_output_contents[0], np.float32).reshape(2, 2)
    np.testing.assert_allclose(got, expected["scores"], rtol=0, atol=1e-6)
