"""`kgraph.models`: Model, Sequential, and the Functional model behind `Model(inputs, outputs)`."""

from kgraph.models.cloning import clone_model
from kgraph.models.functional import Functional
from kgraph.models.model import Model
from kgraph.models.sequential import Sequential
from kgraph.saving import load_model, model_from_json, save_model

__all__ = ["clone_model", "Functional", "Model", "Sequential", "load_model", "model_from_json", "save_model"]
