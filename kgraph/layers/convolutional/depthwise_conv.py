"""DepthwiseConv1D, DepthwiseConv2D: each input channel convolved with its own `depth_multiplier` filters."""

from __future__ import annotations

from kgraph import activations, initializers, ops, regularizers
from kgraph.layers.convolutional.base_conv import ConvLayer


class BaseDepthwiseConv(ConvLayer):
    """N-D depthwise convolution with a `(*kernel_size, in_channels, depth_multiplier)` kernel (weight "kernel").

    The output has `in_channels * depth_multiplier` channels; channels do not mix.

    Args:
        kernel_size: int or tuple of `rank` ints, the window's size.
        strides: int or tuple of `rank` ints; > 1 cannot be combined with dilation_rate > 1.
        padding: "valid" or "same".
        depth_multiplier: positive int, the filters per input channel.
        data_format: "channels_last" or "channels_first"; default `kgraph.config.image_data_format()`.
        dilation_rate: int or tuple of `rank` ints.
        activation: an activation name or callable (default: none).
        use_bias: whether to add a bias vector.
        depthwise_initializer, bias_initializer: initializers (default "glorot_uniform" and "zeros").
        depthwise_regularizer, bias_regularizer, activity_regularizer: penalties added to the loss.
        depthwise_constraint, bias_constraint: stored on the weights.
    """

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.depth_multiplier = self._positive(depth_multiplier, "depth_multiplier")
        self._set_window(kernel_size, strides, padding, data_format, dilation_rate)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = depthwise_constraint
        self.bias_constraint = bias_constraint

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (channels, self.depth_multiplier),
                                      initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(channels * self.depth_multiplier,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.built = True

    def call(self, inputs):
        outputs = ops.depthwise_conv(inputs, self.kernel, self.strides, self.padding, self.data_format,
                                     self.dilation_rate)
        return self._add_bias_and_activate(outputs)

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape, self._input_channels(input_shape) * self.depth_multiplier)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            **self._shared_config(),
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "depthwise_constraint": None,
            "bias_constraint": None,
        }


class DepthwiseConv1D(BaseDepthwiseConv):
    """1D depthwise convolution over (batch, steps, channels) (see `BaseDepthwiseConv` for the args)."""

    rank = 1


class DepthwiseConv2D(BaseDepthwiseConv):
    """2D depthwise convolution over (batch, height, width, channels) (see `BaseDepthwiseConv` for the args)."""

    rank = 2
