"""Core layers: Input, Dense, and the layers that are a single op or a lookup."""

from kgraph.layers.core.dense import Dense
from kgraph.layers.core.input_layer import Input, InputLayer

__all__ = ["Dense", "Input", "InputLayer"]
