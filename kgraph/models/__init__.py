"""`kgraph.models`: Model, Sequential, and the Functional model behind `Model(inputs, outputs)`."""

from kgraph.models.functional import Functional
from kgraph.models.model import Model
from kgraph.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential"]
