"""Merging layers and their functional forms (add, concatenate, ...)."""

from kgraph.layers.merging.arithmetic import (
    Add, Average, Maximum, Minimum, Multiply, Subtract, add, average, maximum, minimum, multiply, subtract,
)
from kgraph.layers.merging.concatenate import Concatenate, concatenate
from kgraph.layers.merging.dot import Dot, dot

__all__ = [
    "Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply", "Subtract", "add", "average",
    "concatenate", "dot", "maximum", "minimum", "multiply", "subtract",
]
