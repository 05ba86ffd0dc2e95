"""MaxPooling1D, MaxPooling2D, MaxPooling3D: the maximum of each window (arguments: see `BasePooling`)."""

from kgraph import ops
from kgraph.layers.pooling.base_pooling import BasePooling


class MaxPooling1D(BasePooling):
    """Max pooling over (batch, steps, channels); pool_size defaults to 2."""

    rank, pool = 1, staticmethod(ops.max_pool)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling2D(BasePooling):
    """Max pooling over (batch, height, width, channels); pool_size defaults to (2, 2)."""

    rank, pool = 2, staticmethod(ops.max_pool)

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling3D(BasePooling):
    """Max pooling over (batch, depth, height, width, channels); pool_size defaults to (2, 2, 2)."""

    rank, pool = 3, staticmethod(ops.max_pool)

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)
