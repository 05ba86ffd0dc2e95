"""kgraph: Keras models compiled through a graph IR — XLA (via JAX) for training, ONNX for inference.

`import kgraph as keras` and write models as the Keras guides teach.

Namespaces load on first use (`kgraph.layers`, `kgraph.ops`, …), so `import kgraph.ir` or the CLI's start does
not pay for JAX and the whole API.
"""

import importlib

from kgraph import config  # reads, and first creates, the kgraph.json settings file at import, as Keras does
from kgraph.version import __version__

_NAMESPACES = (
    "activations", "applications", "backend", "callbacks", "config", "constraints", "datasets", "distillation",
    "distribution", "dtype_policies", "export", "initializers", "layers", "losses", "metrics", "mixed_precision",
    "models", "ops", "optimizers", "quantizers", "random", "regularizers", "saving", "tree", "utils",
    "visualization", "wrappers",
)
_CLASSES = {
    "DTypePolicy": "kgraph.dtype_policies", "FloatDTypePolicy": "kgraph.dtype_policies",
    "Initializer": "kgraph.initializers", "Input": "kgraph.layers", "InputLayer": "kgraph.layers",
    "InputSpec": "kgraph.layers", "KerasTensor": "kgraph.keras_tensor", "Layer": "kgraph.layers",
    "Loss": "kgraph.losses", "Metric": "kgraph.metrics", "Model": "kgraph.models", "Optimizer": "kgraph.optimizers",
    "Quantizer": "kgraph.quantizers",
    "Regularizer": "kgraph.regularizers", "Sequential": "kgraph.models", "Variable": "kgraph.variables",
    "StatelessScope": "kgraph.scopes", "device": "kgraph.scopes", "name_scope": "kgraph.scopes",
    "Function": "kgraph.function", "Operation": "kgraph.operation", "SymbolicScope": "kgraph.symbolic_scope",
    "RematScope": "kgraph.rematerialization", "remat": "kgraph.rematerialization",
}


def __getattr__(name: str):
    """Loads a namespace or a top-level class on first use and caches it on the package."""
    if name in _CLASSES:
        for wiring in ("kgraph.ops", "kgraph.initializers", "kgraph.layers.op_layer"):  # bind operators, ops on KerasTensors
            importlib.import_module(wiring)
        value = getattr(importlib.import_module(_CLASSES[name]), name)
    elif name in _NAMESPACES:
        value = importlib.import_module(f"kgraph.{name}")
        if name in ("saving", "models"):  # loading resolves the Keras classes a file names: kgraph.models and
            importlib.import_module("kgraph.models")  # kgraph.utils (FeatureSpace) register them
            importlib.import_module("kgraph.utils")
    else:
        raise AttributeError(f"module 'kgraph' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_CLASSES) | set(_NAMESPACES))


__all__ = ["__version__", *_CLASSES, *_NAMESPACES]
