"""The `kgraph serve` command (click); the heavy imports wait until it runs."""

from __future__ import annotations

import click

from kgraph.serving.options import PROVIDERS
from kgraph.serving.ray import run
from kgraph.serving.model import load_models
from kgraph.serving.server import serve


def _fail(error: BaseException) -> click.ClickException:
    return click.ClickException(" ".join(str(error).split()) or type(error).__name__)


@click.command("serve")
@click.argument("models", metavar="MODEL [MODEL ...]", nargs=-1, required=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="HTTP port (0: any free port).")
@click.option("--grpc-port", type=click.IntRange(0, 65535), default=8001, show_default=True,
              help="gRPC port; 0 turns gRPC off.")
@click.option("--max-batch-size", type=click.IntRange(min=1), default=None,
              help="Most rows in one ONNX Runtime call; 1 turns batching off.  [default: 64, or config.pbtxt's]")
@click.option("--max-queue-delay-ms", type=click.FloatRange(min=0), default=None,
              help="How long a request waits for others to join its batch.  [default: 0, or config.pbtxt's]")
@click.option("--max-queue", type=click.IntRange(min=1), default=None,
              help="Most queued requests per model; past it requests get 503.  [default: 1024]")
@click.option("--instances", type=click.IntRange(min=1), default=None,
              help="ONNX Runtime sessions per model.  [default: 1, or config.pbtxt's instance_group count]")
@click.option("--providers", type=click.Choice(sorted(PROVIDERS)), default=None,
              help="Execution providers; cuda and tensorrt need onnxruntime-gpu.  [default: auto]")
@click.option("--intra-op-threads", type=click.IntRange(min=0), default=None,
              help="Threads per ONNX Runtime session (0: one per core).  [default: 0]")
@click.option("--request-timeout-ms", type=click.FloatRange(min=0), default=None,
              help="A request still queued after this long is dropped with 504 (0: never).  [default: 10000]")
@click.option("--max-request-bytes", type=click.IntRange(min=1), default=64 * 2**20, show_default=True,
              help="Larger requests get 413.")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]),
              default="warning", show_default=True, help="Server log level.")
@click.option("--access-log/--no-access-log", default=False, show_default=True, help="Log every HTTP request.")
@click.option("--ray", "use_ray", is_flag=True, help="Run on Ray Serve replicas behind Ray's HTTP proxy.")
@click.option("--replicas", type=click.IntRange(min=1), default=1, show_default=True,
              help="With --ray: how many replicas.")
def serve_command(models: tuple[str, ...], host: str, port: int, grpc_port: int, max_request_bytes: int,
                  log_level: str, access_log: bool, use_ray: bool, replicas: int, **model_options) -> None:
    """Serve MODELs (.onnx files, .keras files, or Triton model repositories) over the Open Inference Protocol,
    HTTP and gRPC, with dynamic batching on ONNX Runtime."""
    try:
        if use_ray:
            run(list(models), model_options, host=host, port=port, replicas=replicas,
                max_request_bytes=max_request_bytes)
            return
        served = load_models(models, **model_options)
        serve(served, host=host, port=port, grpc_port=grpc_port, max_request_bytes=max_request_bytes,
              log_level=log_level, access_log=access_log, announce=click.echo)
    except (ValueError, TypeError, FileNotFoundError, OSError, RuntimeError) as e:
        raise _fail(e) from None
