"""Runs every command of docs/serving.md in order, in a fresh folder: python blocks as scripts, bash blocks line by
line with `kgraph` from this checkout, each `kgraph serve` as a real server on free ports (the docs' 8000/8001 are
replaced by them). The Ray Serve section's Python runs in the slow test; its `kgraph serve --ray` line is the
command tests/serving/test_ray.py starts and drives."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving.conftest import ROOT, ServerProcess, kgraph_env

DOC = ROOT / "docs" / "serving.md"
RAY_SECTION = "## Scale out on Ray Serve"


def _blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in re.finditer(r"```(\w+)\n(.*?)```", text, re.S)]


def _with_ports(code: str, server: ServerProcess | None) -> str:
    if server is None:
        return code
    return code.replace(":8000", f":{server.http_port}").replace(":8001", f":{server.grpc_port}")


def _run_blocks(blocks: list[tuple[str, str]], folder: Path) -> list[str]:
    server = None
    outputs = []
    shell = f'kgraph() {{ "{sys.executable}" -m kgraph.cli "$@"; }}\nset -e\n'
    try:
        for language, code in blocks:
            if language == "bash" and code.strip().startswith("kgraph serve"):
                if server is not None:
                    assert server.terminate() == 0
                args = shlex.split(code.strip())[2:]
                server = ServerProcess(*args, cwd=str(folder), timeout=300)
                continue
            if language == "python":
                command = [sys.executable, "-c", _with_ports(code, server)]
            elif language == "bash":
                command = ["bash", "-c", shell + _with_ports(code, server)]
            else:
                continue
            done = subprocess.run(command, cwd=folder, env=kgraph_env(), capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"{code}\n{done.stdout}\n{done.stderr}"
            outputs.append(done.stdout)
        if server is not None:
            assert server.terminate() == 0
    finally:
        if server is not None:
            server.kill()
    return outputs


def test_serving_doc_commands_run(tmp_path):
    text = DOC.read_text()
    outputs = _run_blocks(_blocks(text[:text.index(RAY_SECTION)]), tmp_path)
    joined = "\n".join(outputs)
    assert '"ready":true' in joined and '"id":"1"' in joined
    assert "expected datatype FP32, got FP64" in joined
    assert "(3, 10)\n(3, 10)" in joined and "[2, 10]" in joined
    assert 'kgraph_requests_total{model="mlp",outcome="success"}' in joined
    assert 'platform: "onnxruntime_onnx"' in joined


@pytest.mark.slow
def test_serving_doc_ray_section_runs(tmp_path):
    pytest.importorskip("ray.serve")
    text = DOC.read_text()
    setup = [b for b in _blocks(text[:text.index(RAY_SECTION)]) if b[0] == "python"][:1]
    ray_python = [b for b in _blocks(text[text.index(RAY_SECTION):]) if b[0] == "python"]
    assert ray_python
    _run_blocks(setup + ray_python, tmp_path)
