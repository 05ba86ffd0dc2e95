"""Regularization layers: dropout and noise, active only in training."""

from kgraph.layers.regularization.activity_regularization import ActivityRegularization
from kgraph.layers.regularization.alpha_dropout import AlphaDropout
from kgraph.layers.regularization.dropout import Dropout
from kgraph.layers.regularization.gaussian_noise import GaussianDropout, GaussianNoise
from kgraph.layers.regularization.spatial_dropout import SpatialDropout1D, SpatialDropout2D, SpatialDropout3D

__all__ = ["ActivityRegularization", "AlphaDropout", "Dropout", "GaussianDropout", "GaussianNoise", "SpatialDropout1D",
           "SpatialDropout2D", "SpatialDropout3D"]
