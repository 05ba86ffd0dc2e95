"""Normalization layers."""

from kgraph.layers.normalization.batch_normalization import BatchNormalization
from kgraph.layers.normalization.group_normalization import GroupNormalization
from kgraph.layers.normalization.layer_normalization import LayerNormalization
from kgraph.layers.normalization.rms_normalization import RMSNormalization
from kgraph.layers.normalization.unit_normalization import UnitNormalization

__all__ = ["BatchNormalization", "GroupNormalization", "LayerNormalization", "RMSNormalization", "UnitNormalization"]
