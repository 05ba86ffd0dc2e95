"""AveragePooling1D, AveragePooling2D, AveragePooling3D: the mean of each window, padding excluded (see
`BasePooling` for the arguments; as in Keras, pool_size has no default)."""

from kgraph import ops
from kgraph.layers.pooling.base_pooling import BasePooling


class AveragePooling1D(BasePooling):
    """Average pooling over (batch, steps, channels)."""

    rank, pool = 1, staticmethod(ops.average_pool)


class AveragePooling2D(BasePooling):
    """Average pooling over (batch, height, width, channels)."""

    rank, pool = 2, staticmethod(ops.average_pool)


class AveragePooling3D(BasePooling):
    """Average pooling over (batch, depth, height, width, channels)."""

    rank, pool = 3, staticmethod(ops.average_pool)
