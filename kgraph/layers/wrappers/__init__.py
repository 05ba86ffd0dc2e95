"""Layers that wrap another layer: the Wrapper base and TimeDistributed."""

from kgraph.layers.wrappers.time_distributed import TimeDistributed
from kgraph.layers.wrappers.wrapper import Wrapper

__all__ = ["TimeDistributed", "Wrapper"]
