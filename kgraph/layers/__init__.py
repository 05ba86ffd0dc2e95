"""`kgraph.layers`: Keras' layers, each a small class whose `call` is a few `kgraph.ops`."""

from kgraph.layers.activations.activation import Activation
from kgraph.layers.core.dense import Dense
from kgraph.layers.core.input_layer import Input, InputLayer
from kgraph.layers.layer import Layer
from kgraph.layers.regularization.dropout import Dropout
from kgraph.layers.reshaping.flatten import Flatten

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "Layer"]
