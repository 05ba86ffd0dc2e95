"""Conv1D, Conv2D, Conv3D: convolutions over 1, 2 or 3 spatial dims (arguments: see `BaseConv`)."""

from kgraph.layers.convolutional.base_conv import BaseConv


class Conv1D(BaseConv):
    """1D convolution over (batch, steps, channels); padding may also be "causal" (see `BaseConv` for the args)."""

    rank = 1


class Conv2D(BaseConv):
    """2D convolution over (batch, height, width, channels) (see `BaseConv` for the args)."""

    rank = 2


class Conv3D(BaseConv):
    """3D convolution over (batch, depth, height, width, channels) (see `BaseConv` for the args)."""

    rank = 3
