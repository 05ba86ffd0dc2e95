"""Activation layers."""

from kgraph.layers.activations.activation import Activation

__all__ = ["Activation"]
