"""`kgraph export --triton-repository` writes a repository Triton loads as it is (its config.pbtxt parses into
Triton's ModelConfig), and `kgraph serve` serves it, and .keras files, too."""

from __future__ import annotations

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from kgraph.runtime.onnx import OnnxModel
from kgraph.serving.model import load_models
from kgraph.serving.triton import config_text, onnx_specs, read_config, write_config
from kgraph.serving.options import ModelOptions


def _parse(text: str) -> model_config_pb2.ModelConfig:
    return text_format.Parse(text, model_config_pb2.ModelConfig())


def test_config_pbtxt_parses_into_triton_model_config(triton_repository):
    assert (triton_repository / "small" / "1" / "model.onnx").is_file()
    config = _parse((triton_repository / "small" / "config.pbtxt").read_text())
    Config = model_config_pb2
    assert config.name == "small" and config.platform == "onnxruntime_onnx" and config.max_batch_size == 64
    assert [(i.name, i.data_type, list(i.dims)) for i in config.input] == [("features", Config.TYPE_FP32, [8])]
    assert [(o.name, o.data_type, list(o.dims)) for o in config.output] == [("scores", Config.TYPE_FP32, [2])]
    assert config.dynamic_batching.max_queue_delay_microseconds == 0
    assert config.dynamic_batching.default_queue_policy.max_queue_size == 1024
    assert [(g.count, g.kind) for g in config.instance_group] == [(1, Config.ModelInstanceGroup.KIND_AUTO)]


def test_config_of_every_kind_of_model(onnx_files):
    options = ModelOptions(max_batch_size=8, max_queue_delay_ms=2.5, max_queue=32, instances=2, providers="cuda")
    config = _parse(config_text("tokens", *onnx_specs(onnx_files["tokens"]), options))
    assert config.max_batch_size == 8 and config.dynamic_batching.max_queue_delay_microseconds == 2500
    assert [(i.name, i.data_type, list(i.dims)) for i in config.input] == [
        ("token_ids", model_config_pb2.TYPE_INT32, [-1])]
    assert [(g.count, g.kind) for g in config.instance_group] == [(2, model_config_pb2.ModelInstanceGroup.KIND_GPU)]
    config = _parse(config_text("two_io", *onnx_specs(onnx_files["two_io"]), ModelOptions()))
    assert [(i.name, i.data_type) for i in config.input] == [("a", model_config_pb2.TYPE_FP32),
                                                             ("b", model_config_pb2.TYPE_INT64)]
    assert [o.name for o in config.output] == ["scores", "probability"]


def test_fixed_batch_file_has_no_batching(tmp_path):
    from tests.fixtures.tiny_models import small

    path = tmp_path / "fixed" / "1" / "model.onnx"
    path.parent.mkdir(parents=True)
    small().export(path, batch_size=4)
    config = _parse(write_config(tmp_path, "fixed").read_text())
    assert config.max_batch_size == 0 and not config.HasField("dynamic_batching")
    assert list(config.input[0].dims) == [4, 8]
    (model,) = load_models([tmp_path])
    assert model.name == "fixed" and model.max_batch_size == 0
    assert model.metadata()["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [4, 8]}]


def test_repository_config_sets_options_unless_overridden(triton_repository):
    assert read_config(triton_repository / "small" / "config.pbtxt") == {
        "max_batch_size": 64, "max_queue_delay_ms": 0.0, "max_queue": 1024, "instances": 1}
    (model,) = load_models([triton_repository / "small"], instances=2)
    assert model.options.max_batch_size == 64 and len(model.sessions) == 2


def test_serve_serves_the_repository_and_keras_file(server, triton_repository, keras_file):
    x = np.random.default_rng(4).random((3, 8), dtype=np.float32)
    expected = OnnxModel(triton_repository / "small" / "1" / "model.onnx").predict(x)
    for module, url in ((httpclient, server.url), (grpcclient, server.grpc_url)):
        client = module.InferenceServerClient(url)
        tensor = module.InferInput("features", [3, 8], "FP32")
        tensor.set_data_from_numpy(x)
        np.testing.assert_allclose(client.infer("small", [tensor], model_version="1").as_numpy("scores"), expected,
                                   rtol=0, atol=1e-6)
    from kgraph.saving import load_model

    digits = np.random.default_rng(5).random((2, 784), dtype=np.float32)
    tensor = httpclient.InferInput("digits", [2, 784], "FP32")
    tensor.set_data_from_numpy(digits)
    got = httpclient.InferenceServerClient(server.url).infer("saved_mlp", [tensor]).as_numpy("predictions")
    np.testing.assert_allclose(got, np.asarray(load_model(str(keras_file)).predict(digits, verbose=0)),
                               rtol=1e-5, atol=1e-6)
