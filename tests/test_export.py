"""ONNX export of whole models: gates, names, dims, parity with model.predict, atomic writes, errors."""

import importlib.util
from pathlib import Path

import numpy as np
import onnx
import pytest

import kgraph.export as export_module
from kgraph.export import check_onnx, export_onnx, to_onnx, verify_onnx
from kgraph.ir import get_op
from kgraph.lowering.onnx import lower_to_onnx, max_opset
from kgraph.program import input_specs_from_model, trace_model
from kgraph.runtime.onnx import OnnxModel

_spec = importlib.util.spec_from_file_location("tiny_models", Path(__file__).parent / "fixtures" / "tiny_models.py")
tiny_models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_models)

MODELS = ("mlp", "dropout_mlp", "small", "two_io")


@pytest.fixture(scope="module")
def models():
    return {name: getattr(tiny_models, name)() for name in MODELS + ("tokens",)}


def _inputs(model, batch, rng):
    arrays = [rng.normal(size=(batch,) + tuple(t.shape[1:])).astype("float32") for t in model.inputs]
    return arrays[0] if len(arrays) == 1 else arrays


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("name", MODELS)
def test_export_matches_predict_for_batches_1_7_64(models, tmp_path, name, opset):
    model = models[name]
    path = tmp_path / f"{name}.onnx"
    result = export_onnx(model, path, opset=opset)
    proto = onnx.load(path)
    check_onnx(proto)
    assert proto.opset_import[0].version == opset == result.opset
    assert all(_dims(i)[0] == "batch" for i in proto.graph.input)
    session = OnnxModel(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    for batch in (1, 7, 64):
        x = _inputs(model, batch, rng)
        expected = _as_list(model.predict(x, verbose=0))
        got = _as_list(session.predict(x))
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_names_metadata_and_layer_names_survive(models):
    proto = to_onnx(models["two_io"])
    assert [i.name for i in proto.graph.input] == ["a", "b"]
    assert [o.name for o in proto.graph.output] == ["scores", "probability"]
    assert proto.producer_name == "kgraph" and proto.producer_version
    assert "two_io" in proto.doc_string and proto.graph.doc_string
    assert {init.name for init in proto.graph.initializer} >= {"shared/kernel", "scores/kernel", "probability/kernel"}
    layers = {node.name.split("/")[0] for node in proto.graph.node}
    assert {"shared", "scores", "probability"} <= layers
    assert all(node.doc_string for node in proto.graph.node)
    assert len({node.name for node in proto.graph.node}) == len(proto.graph.node)


def test_mlp_is_six_plain_nodes_and_dropout_leaves_no_trace(models):
    plain = to_onnx(models["mlp"])
    dropped = to_onnx(models["dropout_mlp"])
    expected = ["MatMul", "Relu"] * 2 + ["MatMul", "Softmax"]  # fresh Dense biases are zeros: `x + 0` folds away
    assert [n.op_type for n in plain.graph.node] == expected
    assert [n.op_type for n in dropped.graph.node] == expected
    assert not any("dropout" in n.name for n in dropped.graph.node)
    assert [o.name for o in plain.graph.output] == ["predictions"]
    unoptimized = to_onnx(models["mlp"], optimize=False)
    assert [n.op_type for n in unoptimized.graph.node] == ["MatMul", "Add", "Relu"] * 2 + ["MatMul", "Add", "Softmax"]


def test_fixed_batch_size_gives_fixed_dims(models, tmp_path):
    model = models["mlp"]
    proto = to_onnx(model, batch_size=4)
    assert _dims(proto.graph.input[0]) == [4, 784]
    assert _dims(proto.graph.output[0]) == [4, 10]
    path = tmp_path / "fixed.onnx"
    export_onnx(model, path, batch_size=4, verify=True)
    session = OnnxModel(path)
    x = np.random.default_rng(2).normal(size=(10, 784)).astype("float32")
    np.testing.assert_allclose(session.predict(x), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_integer_inputs_stay_integer_and_other_symbols_are_dim_params(models, tmp_path):
    model = models["tokens"]
    proto = to_onnx(model)
    (ids,) = proto.graph.input
    assert ids.type.tensor_type.elem_type == onnx.TensorProto.INT32
    batch, length = _dims(ids)
    assert batch == "batch" and isinstance(length, str) and length not in ("", "batch")
    report = verify_onnx(model, proto)
    assert report.max_abs_error <= 1e-6
    path = tmp_path / "tokens.onnx"
    export_onnx(model, path)
    session = OnnxModel(path)
    for length in (2, 5):
        x = np.random.default_rng(length).integers(0, 10, size=(6, length)).astype("int32")
        np.testing.assert_allclose(session.predict(x), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_derived_symbolic_dims_are_left_unknown(tmp_path):
    import kgraph as keras

    a = keras.Input(shape=(None,), name="a")
    b = keras.Input(shape=(None,), name="b")
    model = keras.Model(inputs=[a, b], outputs=keras.ops.concatenate([a, b], axis=1))
    proto = to_onnx(model)
    (output,) = proto.graph.output
    dims = output.type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and not dims[1].dim_param and not dims[1].HasField("dim_value")
    path = tmp_path / "concat.onnx"
    export_onnx(model, path, verify=True)
    x = [np.ones((2, 3), "float32"), np.zeros((2, 5), "float32")]
    assert OnnxModel(path).predict(x).shape == (2, 8)


def test_verify_reports_errors_and_catches_a_wrong_rule(models, tmp_path, monkeypatch):
    model = models["mlp"]
    result = export_onnx(model, tmp_path / "ok.onnx", verify=True)
    report = result.verification
    assert 0 <= report.max_abs_error <= 1e-6 and report.max_rel_error <= 1e-5
    assert report.batch_sizes == (1, 7)
    wrong = lambda ctx, x: ctx.op("Sigmoid", x)  # noqa: E731
    monkeypatch.setitem(get_op("relu").rules, "onnx", wrong)
    target = tmp_path / "wrong.onnx"
    with pytest.raises(ValueError, match=r"max abs error .* max rel error"):
        export_onnx(model, target, verify=True)
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.onnx"]


def test_verify_tolerances_are_configurable(models):
    proto = to_onnx(models["mlp"])
    with pytest.raises(ValueError, match="rtol=0, atol=0"):
        verify_onnx(models["mlp"], proto, rtol=0.0, atol=0.0)


def test_opset_out_of_range_names_the_range(models):
    for opset in (12, max_opset() + 1):
        with pytest.raises(ValueError, match=rf"13 \(lowest\) to {max_opset()} \(highest"):
            to_onnx(models["small"], opset=opset)


def test_gelu_is_one_node_from_opset_20(models):
    model = models["two_io"]
    assert "Gelu" not in {n.op_type for n in to_onnx(model, opset=17).graph.node}
    assert "Erf" in {n.op_type for n in to_onnx(model, opset=17).graph.node}
    gelu = [n for n in to_onnx(model, opset=20).graph.node if n.op_type == "Gelu"]
    assert len(gelu) == 1 and gelu[0].name.startswith("shared/")
    verify_onnx(model, to_onnx(model, opset=20))


def test_unsupported_format_lists_formats(models, tmp_path):
    with pytest.raises(ValueError, match="supported formats: onnx"):
        export_onnx(models["small"], tmp_path / "m.tflite", format="tflite")


def test_missing_output_directory_writes_nothing(models, tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope"):
        export_onnx(models["small"], missing / "m.onnx")
    assert not missing.exists() and list(tmp_path.iterdir()) == []


def test_export_overwrites_atomically_and_leaves_no_temp_files(models, tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    export_onnx(models["small"], path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
    check_onnx(path)


def test_external_data_round_trips(models, tmp_path):
    model = models["mlp"]
    path = tmp_path / "ext.onnx"
    export_onnx(model, path, external_data=True, verify=True)
    assert (tmp_path / "ext.onnx.data").stat().st_size >= 784 * 64 * 4
    assert path.stat().st_size < 784 * 64 * 4
    x = np.random.default_rng(3).normal(size=(5, 784)).astype("float32")
    np.testing.assert_allclose(OnnxModel(path).predict(x), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_past_the_protobuf_limit_weights_go_external(models, tmp_path, monkeypatch):
    monkeypatch.setattr(export_module, "EXTERNAL_DATA_THRESHOLD", 1024)
    model = models["mlp"]
    check_onnx(to_onnx(model))
    export_onnx(model, tmp_path / "big.onnx")
    assert (tmp_path / "big.onnx.data").exists()
    check_onnx(tmp_path / "big.onnx")


def test_random_ops_and_missing_rules_are_named(models, monkeypatch):
    model = models["dropout_mlp"]
    training = trace_model(model, input_specs_from_model(model), training=True)
    params = {name: v.numpy() for name, v in training.variables.items()}
    with pytest.raises(NotImplementedError, match=r"dropout_1.*'dropout'.*training=False"):
        lower_to_onnx(training.graph, params)
    monkeypatch.delitem(get_op("relu").rules, "onnx")
    with pytest.raises(NotImplementedError, match=r"'dense_1' \(op 'relu'\) has no ONNX rule"):
        to_onnx(models["mlp"])


def test_an_output_returned_twice_or_straight_from_an_input_gets_its_own_name():
    import kgraph as keras

    x = keras.Input(shape=(3,), name="x")
    y = keras.layers.Dense(2, name="proj")(x)
    model = keras.Model(inputs=x, outputs=[y, y, x])
    proto = to_onnx(model)
    names = [o.name for o in proto.graph.output]
    assert len(set(names)) == 3 and "x" not in names
    verify_onnx(model, proto)


def test_to_onnx_rejects_what_is_not_a_model():
    with pytest.raises(TypeError, match="kgraph Model"):
        to_onnx(object())
