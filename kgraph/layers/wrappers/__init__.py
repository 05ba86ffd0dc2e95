"""Layers that wrap another layer: the Wrapper base, TimeDistributed and SpectralNormalization."""

from kgraph.layers.wrappers.spectral_normalization import SpectralNormalization
from kgraph.layers.wrappers.time_distributed import TimeDistributed
from kgraph.layers.wrappers.wrapper import Wrapper

__all__ = ["SpectralNormalization", "TimeDistributed", "Wrapper"]
