"""`kgraph serve`: the HTTP (uvicorn) and gRPC (grpc.aio) front ends on one event loop over one InferenceService;
SIGTERM or SIGINT stops accepting, lets in-flight requests finish and returns."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import sys
from typing import Callable, Sequence

import uvicorn

from kgraph.serving.grpc_service import create_server
from kgraph.serving.http import DEFAULT_MAX_REQUEST_BYTES, create_app
from kgraph.serving.model import ServedModel
from kgraph.serving.service import InferenceService

GRACE_SECONDS = 30.0


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: `serve` owns SIGTERM/SIGINT so the process exits 0 after a drain."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def startup_lines(service: InferenceService, host: str, port: int, grpc_port: int | None) -> list[str]:
    """What the server prints when it is ready: each model with its inputs and outputs, and the URLs."""
    base = f"http://{host}:{port}"
    lines = [m.describe() for m in service.models]
    lines += [f"  infer: POST {base}/v2/models/{name}/infer" for name in sorted(service.latest)]
    lines.append(f"HTTP: {base}/v2 (health {base}/v2/health/ready, metrics {base}/metrics)")
    lines.append(f"gRPC: {host}:{grpc_port}" if grpc_port else "gRPC: off")
    return lines


async def serve_async(models: Sequence[ServedModel], host: str = "127.0.0.1", port: int = 8000,
                      grpc_port: int = 8001, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
                      log_level: str = "warning", access_log: bool = False,
                      announce: Callable[[str], None] = print) -> None:
    """Serves `models` over HTTP on `host:port` and gRPC on `host:grpc_port` (0: no gRPC) until SIGTERM/SIGINT.

    Args:
        models: the ServedModels.
        host: the address to listen on.
        port: the HTTP port (0: any free port).
        grpc_port: the gRPC port; 0 turns gRPC off.
        max_request_bytes: larger requests are answered 413 (HTTP) or RESOURCE_EXHAUSTED (gRPC).
        log_level: uvicorn's and the server's log level.
        access_log: log every HTTP request.
        announce: receives each start-up line.
    """
    service = InferenceService(models)
    sock = _listen(host, port)
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(service, max_request_bytes), log_level=log_level, access_log=access_log,
                            lifespan="off", timeout_graceful_shutdown=GRACE_SECONDS)
    http_server = _Uvicorn(config)
    grpc_server = None
    if grpc_port:
        grpc_server, grpc_port = create_server(service, f"{host}:{grpc_port}", max_request_bytes)
        await grpc_server.start()
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def stop() -> None:
        service.ready = False
        http_server.should_exit = True
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    http_task = loop.create_task(http_server.serve(sockets=[sock]))
    while not http_server.started and not http_task.done():
        await asyncio.sleep(0.01)
    if http_task.done():
        await http_task
        raise OSError(f"HTTP cannot listen on {host}:{port}")
    # Everything imported so far (jax and the models) lives as long as the server: keeping it out of the cyclic
    # collector's generations spares each full collection a walk over it, which otherwise stalls requests.
    gc.collect()
    gc.freeze()
    for line in startup_lines(service, host, port, grpc_port):
        announce(line)
    try:
        await stopping.wait()
        if grpc_server is not None:
            await grpc_server.stop(GRACE_SECONDS)
        await http_task
        await service.close()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        sock.close()


def serve(models: Sequence[ServedModel], **kwargs) -> None:
    """Runs `serve_async` on a new event loop (uvloop's when installed) until SIGTERM/SIGINT; see `serve_async`."""
    logging.basicConfig(level=kwargs.get("log_level", "warning").upper(), stream=sys.stderr)
    try:
        import uvloop  # optional: uvloop when uvicorn[standard] brought it
    except ImportError:
        loop = asyncio.new_event_loop()
    else:
        loop = uvloop.new_event_loop()
    try:
        loop.run_until_complete(serve_async(models, **kwargs))
    finally:
        loop.close()
