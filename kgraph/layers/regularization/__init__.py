"""Regularization layers: dropout and noise, active only in training."""

from kgraph.layers.regularization.dropout import Dropout

__all__ = ["Dropout"]
