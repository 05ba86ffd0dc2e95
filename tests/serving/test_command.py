"""`kgraph serve` and `kgraph export --triton-repository` refuse bad arguments with one `Error:` line."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from kgraph.cli import main


def _error_line(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    lines = result.output.strip().splitlines()
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_missing_model_file(tmp_path):
    assert "does not exist" in _error_line("serve", str(tmp_path / "nope.onnx"))


def test_unknown_model_kind(tmp_path):
    path = tmp_path / "model.txt"
    path.write_text("x")
    assert "expected a .onnx file, a .keras file or a model repository folder" in _error_line("serve", str(path))


def test_folder_that_is_not_a_repository(tmp_path):
    assert "is not a model repository" in _error_line("serve", str(tmp_path))


def test_two_models_of_one_name(onnx_files, tmp_path):
    copy = tmp_path / "mlp.onnx"
    copy.write_bytes(onnx_files["mlp"].read_bytes())
    assert "named 'mlp'" in _error_line("serve", str(onnx_files["mlp"]), str(copy))


def test_port_in_use(onnx_files):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert "in use" in _error_line("serve", str(onnx_files["mlp"]), "--port", str(port), "--grpc-port", "0")


@pytest.mark.parametrize("args", [[], ["-o", "x.onnx", "--triton-repository", "repo"]])
def test_export_needs_one_destination(args):
    assert "exactly one of -o/--output FILE and --triton-repository DIR" in _error_line(
        "export", "tiny_models:small", *args)
