"""Fixtures of the serving tests: small models exported with kgraph, and real `kgraph serve` processes on free
loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.serving.models import export_all

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def kgraph_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


class ServerProcess:
    """A `kgraph serve` subprocess; `lines` collects what it prints."""

    def __init__(self, *args: str, timeout: float = 180.0, cwd: str | None = None):
        self.http_port = free_port()
        self.grpc_port = free_port()
        self.url = f"{HOST}:{self.http_port}"
        self.grpc_url = f"{HOST}:{self.grpc_port}"
        command = [sys.executable, "-m", "kgraph.cli", "serve", *args, "--port", str(self.http_port),
                   "--grpc-port", str(self.grpc_port)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env=kgraph_env(), cwd=cwd)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not any(line.startswith("gRPC:") for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("kgraph serve did not start:\n" + "\n".join(self.lines))
            time.sleep(0.05)

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def terminate(self, timeout: float = 60.0) -> int:
        """Sends SIGTERM and returns the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture(scope="session")
def onnx_files(tmp_path_factory) -> dict[str, Path]:
    return export_all(tmp_path_factory.mktemp("onnx"))


@pytest.fixture(scope="session")
def triton_repository(tmp_path_factory) -> Path:
    """A Triton model repository holding `small`, written by `kgraph export --triton-repository`."""
    from click.testing import CliRunner

    from kgraph.cli import main

    repository = tmp_path_factory.mktemp("repository")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT / "tests" / "fixtures")
        result = CliRunner().invoke(main, ["export", "tiny_models:small", "--triton-repository", str(repository)])
    assert result.exit_code == 0, result.output
    return repository


@pytest.fixture(scope="session")
def keras_file(tmp_path_factory) -> Path:
    """The MLP saved as `saved_mlp.keras`."""
    from tests.serving.models import mlp

    path = tmp_path_factory.mktemp("keras") / "saved_mlp.keras"
    mlp().save(path)
    return path


@pytest.fixture(scope="session")
def server(onnx_files, triton_repository, keras_file):
    """One server for the protocol tests: the MLP, the convnet, two_io and tokens as .onnx files, the repository's
    `small`, and `saved_mlp` from a .keras file."""
    process = ServerProcess(*(str(p) for p in onnx_files.values()), str(triton_repository), str(keras_file),
                            "--max-batch-size", "16")
    yield process
    process.kill()
