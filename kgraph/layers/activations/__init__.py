"""Activation layers."""

from kgraph.layers.activations.activation import Activation
from kgraph.layers.activations.elu import ELU
from kgraph.layers.activations.leaky_relu import LeakyReLU
from kgraph.layers.activations.prelu import PReLU
from kgraph.layers.activations.relu import ReLU
from kgraph.layers.activations.softmax import Softmax

__all__ = ["Activation", "ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
