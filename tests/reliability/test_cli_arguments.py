"""`kgraph export`, `inspect` and `serve` with bad arguments: a non-zero exit and one `Error:` line naming the
argument, never a traceback. (tests/test_cli.py has the MODEL-spec cases: no colon, missing module, ….)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kgraph.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"

# (arguments, exit code, message); {tmp} is a fresh folder holding junk.keras, a file that is not a zip.
CASES = {
    "export-missing-file": (["export", "{tmp}/missing.keras", "-o", "{tmp}/x.onnx"], 1,
                            "Error: no such .keras file: {tmp}/missing.keras"),
    "export-junk-file": (["export", "{tmp}/junk.keras", "-o", "{tmp}/x.onnx"], 1,
                         "Error: cannot load {tmp}/junk.keras: {tmp}/junk.keras is not a valid .keras file"),
    "export-no-output": (["export", "tiny_models:mlp"], 1,
                         "Error: give exactly one of -o/--output FILE and --triton-repository DIR"),
    "export-two-outputs": (["export", "tiny_models:mlp", "-o", "{tmp}/x.onnx", "--triton-repository", "{tmp}/repo"], 1,
                           "Error: give exactly one of -o/--output FILE and --triton-repository DIR"),
    "export-opset-12": (["export", "tiny_models:mlp", "-o", "{tmp}/x.onnx", "--opset", "12"], 1,
                        "Error: opset must be an integer from 13 (lowest) to"),
    "export-opset-word": (["export", "tiny_models:mlp", "-o", "{tmp}/x.onnx", "--opset", "abc"], 2,
                          "Error: Invalid value for '--opset': 'abc' is not a valid integer."),
    "export-unknown-flag": (["export", "tiny_models:mlp", "-o", "{tmp}/x.onnx", "--frobnicate"], 2,
                            "Error: No such option '--frobnicate'."),
    "inspect-opset-99": (["inspect", "tiny_models:mlp", "--passes", "--opset", "99"], 1,
                         "Error: opset must be an integer from 13 (lowest) to"),
    "inspect-batch-negative": (["inspect", "tiny_models:mlp", "--passes", "--batch-size", "-3"], 1,
                               "Error: batch_size must be a positive integer or None, got -3"),
    "inspect-junk-file": (["inspect", "{tmp}/junk.keras"], 1, "Error: cannot load {tmp}/junk.keras"),
    "serve-missing-file": (["serve", "{tmp}/missing.keras"], 1, "Error: MODEL '{tmp}/missing.keras' does not exist"),
    "serve-junk-file": (["serve", "{tmp}/junk.keras"], 1, "Error: {tmp}/junk.keras is not a valid .keras file"),
    "serve-port-range": (["serve", "tiny_models:mlp", "--port", "99999"], 2,
                         "Error: Invalid value for '--port': 99999 is not in the range 0<=x<=65535."),
    "serve-batch-0": (["serve", "tiny_models:mlp", "--max-batch-size", "0"], 2,
                      "Error: Invalid value for '--max-batch-size': 0 is not in the range x>=1."),
    "serve-providers": (["serve", "tiny_models:mlp", "--providers", "nope"], 2,
                        "Error: Invalid value for '--providers': 'nope' is not one of"),
    "serve-no-model": (["serve"], 2, "Error: Missing argument 'MODEL [MODEL ...]'."),
    "unknown-command": (["frobnicate"], 2, "Error: No such command 'frobnicate'."),
}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    (tmp_path / "junk.keras").write_bytes(b"junk")
    monkeypatch.chdir(FIXTURES)
    return tmp_path


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_arguments_exit_with_one_error_line(workdir, case):
    args, code, message = CASES[case]
    result = CliRunner().invoke(main, [a.format(tmp=workdir) for a in args])
    assert result.exit_code == code, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and errors[0].startswith(message.format(tmp=workdir)), result.output
    assert code == 2 or len(lines) == 1, result.output  # usage errors (exit 2) add click's usage lines
    assert not list(workdir.glob("*.onnx")) and not (workdir / "repo").exists()


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["inspect", "{tmp}/junk.keras"], "Error: cannot load {tmp}/junk.keras"),
    (["serve", "{tmp}/missing.keras"], "Error: MODEL '{tmp}/missing.keras' does not exist"),
])
def test_the_real_command_prints_one_line_and_no_traceback(workdir, args, message):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    process = subprocess.run([sys.executable, "-m", "kgraph.cli", *[a.format(tmp=workdir) for a in args]],
                             capture_output=True, text=True, env=env, timeout=120)
    assert process.returncode == 1, process.stderr
    assert process.stderr.strip().startswith(message.format(tmp=workdir)), process.stderr
    assert len(process.stderr.strip().splitlines()) == 1 and "Traceback" not in process.stderr + process.stdout
