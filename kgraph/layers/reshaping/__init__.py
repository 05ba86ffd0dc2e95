"""Reshaping layers."""

from kgraph.layers.reshaping.flatten import Flatten

__all__ = ["Flatten"]
