"""kgraph: Keras models compiled through a graph IR — XLA (via JAX) for training, ONNX for inference.

`import kgraph as keras` and write models as the Keras guides teach.
"""

from kgraph import (
    activations, callbacks, config, datasets, initializers, layers, losses, metrics, ops, optimizers,
    regularizers, utils,
)
from kgraph.layers import Input, InputLayer, Layer
from kgraph.models import Model, Sequential
from kgraph.variables import Variable
from kgraph.version import __version__

__all__ = [
    "Input", "InputLayer", "Layer", "Model", "Sequential", "Variable", "__version__", "activations", "callbacks",
    "config", "datasets", "initializers", "layers", "losses", "metrics", "ops", "optimizers", "regularizers",
    "utils",
]
