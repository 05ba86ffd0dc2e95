"""Reshaping layers."""

from kgraph.layers.reshaping.cropping import Cropping1D, Cropping2D
from kgraph.layers.reshaping.flatten import Flatten
from kgraph.layers.reshaping.permute import Permute
from kgraph.layers.reshaping.repeat_vector import RepeatVector
from kgraph.layers.reshaping.reshape import Reshape
from kgraph.layers.reshaping.up_sampling import UpSampling1D, UpSampling2D
from kgraph.layers.reshaping.volumetric import Cropping3D, UpSampling3D, ZeroPadding3D
from kgraph.layers.reshaping.zero_padding import ZeroPadding1D, ZeroPadding2D

__all__ = [
    "Cropping1D", "Cropping2D", "Cropping3D", "Flatten", "Permute", "RepeatVector", "Reshape", "UpSampling1D", "UpSampling2D",
    "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
]
