"""kgraph: Keras models compiled through a graph IR — XLA (via JAX) for training, ONNX for inference.

`import kgraph as keras` and write models as the Keras guides teach.
"""

from kgraph import (
    activations, callbacks, config, datasets, distribution, initializers, layers, losses, metrics, ops, optimizers,
    regularizers, saving, tree, utils,
)
from kgraph.layers import Input, InputLayer, Layer
from kgraph.models import Model, Sequential
from kgraph.variables import Variable
from kgraph.version import __version__



def __getattr__(name: str):
    """`kgraph.export` is imported on first use, so `import kgraph` does not load onnx."""
    if name == "export":
        import importlib

        return importlib.import_module("kgraph.export")
    raise AttributeError(f"module 'kgraph' has no attribute {name!r}")


__all__ = [
    "Input", "InputLayer", "export", "Layer", "Model", "Sequential", "Variable", "__version__", "activations", "callbacks",
    "config", "datasets", "distribution", "initializers", "layers", "losses", "metrics", "ops", "optimizers", "regularizers",
    "saving", "tree", "utils",
]
