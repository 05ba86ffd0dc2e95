"""Preprocessing layers that lower to both targets."""

from kgraph.layers.preprocessing.image_layers import CenterCrop, Resizing
from kgraph.layers.preprocessing.normalization import Normalization
from kgraph.layers.preprocessing.rescaling import Rescaling

__all__ = ["CenterCrop", "Normalization", "Rescaling", "Resizing"]
