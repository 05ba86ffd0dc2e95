"""The `kgraph` command line, through click's CliRunner and as a real subprocess."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

from kgraph.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def in_fixtures(monkeypatch):
    monkeypatch.chdir(FIXTURES)


def _invoke(*args):
    return CliRunner().invoke(main, list(args))


def _one_error_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code != 0, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_export_verifies_by_default(in_fixtures, tmp_path):
    out = tmp_path / "mlp.onnx"
    result = _invoke("export", "tiny_models:mlp", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "Exported 'mnist_mlp'" in result.output and "opset 17, 6 ONNX nodes, 55,050 parameters" in result.output
    assert "Verified against XLA: max abs error" in result.output
    model = onnx.load(out)
    assert [i.name for i in model.graph.input] == ["digits"]


def test_export_options(in_fixtures, tmp_path):
    out = tmp_path / "small.onnx"
    result = _invoke("export", "tiny_models:SMALL", "-o", str(out), "--opset", "13", "--batch-size", "3", "--no-verify")
    assert result.exit_code == 0, result.output
    assert "Verified" not in result.output
    model = onnx.load(out)
    assert model.opset_import[0].version == 13
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 3


def test_inspect_prints_ir_op_counts_and_parameters(in_fixtures):
    result = _invoke("inspect", "tiny_models:mlp")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("graph mnist_mlp(")
    assert "%digits: float32[batch, 784]" in result.output
    assert "matmul          3" in result.output and "softmax         1" in result.output
    assert "Parameters: 55,050" in result.output


@pytest.mark.parametrize("args,message", [
    (["export", "tiny_models", "-o", "x.onnx"], "MODEL must look like package.module:attr"),
    (["export", "no_such_module:mlp", "-o", "x.onnx"], "module 'no_such_module' not found"),
    (["export", "tiny_models:nope", "-o", "x.onnx"], "module 'tiny_models' has no attribute 'nope'"),
    (["export", "tiny_models:NOT_A_MODEL", "-o", "x.onnx"], "is not a kgraph Model"),
    (["export", "tiny_models:broken", "-o", "x.onnx"], "calling 'tiny_models:broken' failed: RuntimeError"),
    (["export", "tiny_models:mlp", "-o", "missing_dir/x.onnx"], "output directory 'missing_dir' does not exist"),
    (["export", "tiny_models:mlp", "-o", "x.onnx", "--opset", "99"], "opset must be an integer from 13"),
    (["export", "tiny_models:mlp", "-o", "x.onnx", "--batch-size", "0"], "batch_size must be a positive integer"),
    (["inspect", "tiny_models:NOT_A_MODEL"], "is not a kgraph Model"),
], ids=["no-colon", "no-module", "no-attr", "not-a-model", "factory-fails", "missing-dir", "opset-99", "batch-0",
        "inspect-not-a-model"])
def test_errors_are_one_line(in_fixtures, args, message):
    line = _one_error_line(_invoke(*args))
    assert message in line
    assert not (FIXTURES / "x.onnx").exists()


@pytest.mark.parametrize("command", [[], ["export"], ["inspect"], ["ops"]])
def test_help_on_every_command(command):
    result = _invoke(*command, "--help")
    assert result.exit_code == 0 and result.output.startswith("Usage:")


def _run(args, **kwargs):
    return subprocess.run(args, cwd=FIXTURES, capture_output=True, text=True, timeout=120, **kwargs)


def test_subprocess_export_and_inspect(tmp_path):
    out = tmp_path / "small.onnx"
    proc = _run([sys.executable, "-m", "kgraph.cli", "export", "tiny_models:small", "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    assert "Verified against XLA" in proc.stdout
    from kgraph.runtime.onnx import OnnxModel

    assert OnnxModel(out).predict(np.zeros((2, 8), "float32")).shape == (2, 2)
    proc = _run([sys.executable, "-m", "kgraph.cli", "inspect", "tiny_models:small"])
    assert proc.returncode == 0 and "Parameters: 46" in proc.stdout


def test_subprocess_errors_are_one_line(tmp_path):
    for args in (["export", "tiny_models:small", "-o", str(tmp_path / "no" / "x.onnx")],
                 ["export", "tiny_models:small", "-o", str(tmp_path / "x.onnx"), "--opset", "99"],
                 ["export", "not a spec", "-o", str(tmp_path / "x.onnx")]):
        proc = _run([sys.executable, "-m", "kgraph.cli", *args])
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode != 0 and len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("kgraph") is None, reason="the kgraph console script is not installed")
def test_console_script(tmp_path):
    proc = _run(["kgraph", "export", "tiny_models:small", "-o", str(tmp_path / "s.onnx"), "--no-verify"])
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "s.onnx").exists()


def test_export_and_inspect_accept_keras_files(tmp_path):
    import subprocess
    import sys

    import kgraph

    inputs = kgraph.Input(shape=(4,), name="features")
    model = kgraph.Model(inputs, kgraph.layers.Dense(2, name="head")(inputs))
    saved = tmp_path / "tiny.keras"
    model.save(str(saved))
    out = tmp_path / "tiny.onnx"
    result = subprocess.run([sys.executable, "-m", "kgraph.cli", "export", str(saved), "-o", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert out.exists()
    result = subprocess.run([sys.executable, "-m", "kgraph.cli", "inspect", str(saved)], capture_output=True, text=True)
    assert result.returncode == 0 and "matmul" in result.stdout
    result = subprocess.run([sys.executable, "-m", "kgraph.cli", "export", str(tmp_path / "missing.keras"), "-o",
                             str(out)], capture_output=True, text=True)
    assert result.returncode != 0 and "no such .keras file" in result.stderr
