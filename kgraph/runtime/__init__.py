"""The runtime: the engine behind fit/evaluate/predict, and the ONNX Runtime session used for serving."""

from kgraph.runtime.compilation_cache import enable_default
from kgraph.runtime.onnx import OnnxModel

enable_default()


def __getattr__(name: str):
    if name == "OnnxModel":
        return OnnxModel
    raise AttributeError(f"module 'kgraph.runtime' has no attribute {name!r}")


__all__ = ["OnnxModel"]
