"""Ray Serve: the same models, batcher and protocol routes as `kgraph serve`, on Ray Serve replicas behind Ray's
HTTP proxy, which spreads requests over the replicas and replaces one that dies. Needs the `ray` extra."""

from __future__ import annotations

import signal
import threading
from typing import Sequence

from ray import serve

from kgraph.serving.http import DEFAULT_MAX_REQUEST_BYTES
from kgraph.serving.http import create_app
from kgraph.serving.model import load_models
from kgraph.serving.service import InferenceService

APP_NAME = "kgraph"


@serve.ingress()
class KgraphReplica:
    """One replica: loads the models and answers the protocol's routes with its own batchers.

    Args:
        models: `kgraph serve`'s MODEL arguments (.onnx, .keras, Triton repository folders).
        options: ModelOptions fields (None: default, or the repository's config.pbtxt).
        max_request_bytes: larger requests are answered 413.
    """

    def __init__(self, models: Sequence[str], options: dict, max_request_bytes: int):
        self._models = list(models)
        self._options = dict(options)
        self._max_request_bytes = max_request_bytes

    def __serve_build_asgi_app__(self):
        service = InferenceService(load_models(self._models, **self._options))
        return create_app(service, self._max_request_bytes)


def deployment(models: Sequence[str], options: dict | None = None, replicas: int = 1,
               max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES, max_ongoing_requests: int = 256):
    """A Ray Serve application serving `models` on `replicas` replicas; run it with `ray.serve.run(app)`.

    Args:
        models: .onnx files, .keras files or Triton repository folders, readable by every replica.
        options: ModelOptions fields such as {"max_batch_size": 32}.
        replicas: how many replicas Ray keeps running.
        max_request_bytes: larger requests are answered 413.
        max_ongoing_requests: requests Ray lets into one replica at once; the replica's batcher can only batch
            that many together (Ray's own default, 5, would cap batches at 5 requests).
    """
    return serve.deployment(KgraphReplica, name=APP_NAME, num_replicas=replicas,
                            max_ongoing_requests=max_ongoing_requests).bind(
        list(models), dict(options or {}), max_request_bytes)


def run(models: Sequence[str], options: dict | None = None, host: str = "127.0.0.1", port: int = 8000,
        replicas: int = 1, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES, announce=print) -> None:
    """Starts a local Ray instance and Ray Serve's HTTP proxy on `host:port`, runs the deployment, and blocks until
    SIGTERM or SIGINT, then shuts Ray Serve down."""
    import ray  # optional: the [ray] extra

    ray.init(include_dashboard=False, configure_logging=False, log_to_driver=False)
    try:
        serve.start(http_options={"host": host, "port": port})
        serve.run(deployment(models, options, replicas, max_request_bytes), name=APP_NAME, route_prefix="/")
        announce(f"Ray Serve: {replicas} replica(s) of {', '.join(models)}")
        announce(f"HTTP: http://{host}:{port}/v2 (health http://{host}:{port}/v2/health/ready)")
        announce("gRPC: off (Ray Serve proxies HTTP)")
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        serve.shutdown()
    finally:
        ray.shutdown()
