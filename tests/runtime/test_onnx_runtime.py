"""OnnxModel: batching, input forms, validation errors and concurrent callers."""

import importlib.util
import threading
from pathlib import Path

import numpy as np
import pytest

from kgraph.export import export_onnx
from kgraph.runtime.onnx import OnnxModel

_spec = importlib.util.spec_from_file_location("tiny_models", Path(__file__).parents[1] / "fixtures" / "tiny_models.py")
tiny_models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_models)

rng = np.random.default_rng(0)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    models = {"mlp": tiny_models.mlp(), "two_io": tiny_models.two_io(), "tokens": tiny_models.tokens()}
    for name, model in models.items():
        export_onnx(model, folder / f"{name}.onnx")
    export_onnx(models["mlp"], folder / "mlp_fixed.onnx", batch_size=8)
    return folder, models


def test_properties(exported):
    folder, _ = exported
    model = OnnxModel(folder / "two_io.onnx")
    assert model.input_names == ["a", "b"]
    assert model.output_names == ["scores", "probability"]
    assert model.providers == ["CPUExecutionProvider"]
    assert model.fixed_batch_size is None
    assert OnnxModel(folder / "mlp_fixed.onnx").fixed_batch_size == 8
    assert "digits" in repr(OnnxModel(folder / "mlp.onnx"))


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])
def test_batching_equals_one_shot(exported, batch_size):
    folder, models = exported
    model = OnnxModel(folder / "mlp.onnx")
    x = rng.normal(size=(100, 784)).astype("float32")
    one_shot = model.predict(x)
    np.testing.assert_allclose(model.predict(x, batch_size=batch_size), one_shot, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(one_shot, models["mlp"].predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_fixed_batch_pads_the_last_chunk(exported):
    folder, models = exported
    model = OnnxModel(folder / "mlp_fixed.onnx")
    x = rng.normal(size=(19, 784)).astype("float32")
    got = model.predict(x)
    assert got.shape == (19, 10)
    np.testing.assert_allclose(got, models["mlp"].predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="fixed batch size 8"):
        model.predict(x, batch_size=4)


def test_list_and_dict_inputs_and_multiple_outputs(exported):
    folder, models = exported
    model = OnnxModel(folder / "two_io.onnx")
    a, b = rng.normal(size=(9, 4)).astype("float32"), rng.normal(size=(9, 3)).astype("float32")
    from_list = model.predict([a, b])
    from_dict = model.predict({"b": b, "a": a}, batch_size=4)
    expected = models["two_io"].predict([a, b], verbose=0)
    assert isinstance(from_list, list) and len(from_list) == 2
    for got_list, got_dict, e in zip(from_list, from_dict, expected):
        np.testing.assert_allclose(got_list, e, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got_dict, e, rtol=1e-5, atol=1e-6)


def test_safe_casts_are_applied(exported):
    folder, _ = exported
    model = OnnxModel(folder / "mlp.onnx")
    x64 = rng.normal(size=(3, 784))
    np.testing.assert_allclose(model.predict(x64), model.predict(x64.astype("float32")), rtol=1e-6)
    tokens = OnnxModel(folder / "tokens.onnx")
    ids = rng.integers(0, 10, size=(2, 5))
    np.testing.assert_allclose(tokens.predict(ids), tokens.predict(ids.astype("int32")))


@pytest.mark.parametrize("x,error,message", [
    ({"digitz": np.zeros((2, 784), "float32")}, ValueError, r"missing \['digits'\], unknown \['digitz'\]"),
    (np.zeros((2, 784, 1), "float32"), ValueError,
     r"input 'digits': expected rank 2 \(shape \(None, 784\)\), got shape \(2, 784, 1\)"),
    (np.zeros((2, 783), "float32"), ValueError, r"input 'digits': expected shape \(None, 784\), got \(2, 783\)"),
    (np.array([["a"] * 784]), TypeError, r"input 'digits': expected a numeric array of float32, got dtype <U1"),
    (np.zeros((2, 784), "complex64"), TypeError, r"expected dtype float32, got complex64"),
], ids=["dict-name", "rank", "fixed-dim", "strings", "complex"])
def test_validation_errors_name_the_input(exported, x, error, message):
    folder, _ = exported
    with pytest.raises(error, match=message):
        OnnxModel(folder / "mlp.onnx").predict(x)


def test_validation_of_multi_input_calls(exported):
    folder, _ = exported
    model = OnnxModel(folder / "two_io.onnx")
    a, b = np.zeros((2, 4), "float32"), np.zeros((3, 3), "float32")
    with pytest.raises(ValueError, match=r"takes 2 inputs \['a', 'b'\], got a list of 1"):
        model.predict([a])
    with pytest.raises(ValueError, match="takes 2 inputs"):
        model.predict(a)
    with pytest.raises(ValueError, match=r"same number of rows .*'a': 2, 'b': 3"):
        model.predict([a, b])
    tokens = OnnxModel(folder / "tokens.onnx")
    with pytest.raises(TypeError, match="input 'token_ids': expected dtype int32, got float32"):
        tokens.predict(np.zeros((2, 5), "float32"))


def test_bad_providers_and_paths(exported, tmp_path):
    folder, _ = exported
    with pytest.raises(ValueError, match="not available"):
        OnnxModel(folder / "mlp.onnx", providers=["NoSuchExecutionProvider"])
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        OnnxModel(tmp_path / "missing.onnx")


def test_four_threads_predict_concurrently(exported):
    folder, models = exported
    model = OnnxModel(folder / "two_io.onnx")
    inputs = [[rng.normal(size=(33, 4)).astype("float32"), rng.normal(size=(33, 3)).astype("float32")]
              for _ in range(4)]
    expected = [models["two_io"].predict(x, verbose=0) for x in inputs]
    results: dict = {}
    barrier = threading.Barrier(4)

    def worker(i):
        barrier.wait()
        results[i] = [model.predict(inputs[i], batch_size=5) for _ in range(20)]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1, 2, 3]
    for i in range(4):
        for run in results[i]:
            for got, e in zip(run, expected[i]):
                np.testing.assert_allclose(got, e, rtol=1e-5, atol=1e-6)
