"""Serving exported models over the Open Inference Protocol (KServe v2): HTTP/REST and gRPC front ends, dynamic
batching on ONNX Runtime, Prometheus metrics; Triton model repositories; Ray Serve deployments (`kgraph.serving.ray`).

Needs the `serve` extra (`pip install kgraph[serve]`); names load on first use, so that `kgraph` without the extra
still starts.
"""

import importlib

_HOMES = {
    "Batcher": "batcher", "InferenceService": "service", "ModelOptions": "options", "ServedModel": "model",
    "load_models": "model", "create_app": "http", "serve": "server", "serve_async": "server",
    "write_config": "triton", "ServingError": "errors", "InvalidRequest": "errors", "ModelNotFound": "errors",
    "RequestTooLarge": "errors", "Overloaded": "errors", "DeadlineExceeded": "errors", "InferenceFailed": "errors",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'kgraph.serving' has no attribute {name!r}")
    return getattr(importlib.import_module(f"kgraph.serving.{_HOMES[name]}"), name)
