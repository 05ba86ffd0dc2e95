"""SeparableConv1D, SeparableConv2D: a depthwise convolution, then a 1x1 convolution that mixes the channels."""

from __future__ import annotations

from kgraph import activations, initializers, ops, regularizers
from kgraph.layers.convolutional.base_conv import ConvLayer


class BaseSeparableConv(ConvLayer):
    """N-D depthwise-separable convolution with weights "depthwise_kernel" `(*kernel_size, in, depth_multiplier)`,
    "pointwise_kernel" `(1, ..., 1, in * depth_multiplier, filters)` and "bias" `(filters,)`.

    Args:
        filters: positive int, the number of output channels.
        kernel_size: int or tuple of `rank` ints, the depthwise window's size.
        strides: int or tuple of `rank` ints; > 1 cannot be combined with dilation_rate > 1.
        padding: "valid" or "same".
        data_format: "channels_last" or "channels_first"; default `kgraph.config.image_data_format()`.
        dilation_rate: int or tuple of `rank` ints.
        depth_multiplier: positive int, the depthwise filters per input channel.
        activation: an activation name or callable (default: none).
        use_bias: whether to add a bias vector.
        depthwise_initializer, pointwise_initializer, bias_initializer: initializers (default "glorot_uniform",
            "glorot_uniform", "zeros").
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer: penalties added to
            the loss.
        depthwise_constraint, pointwise_constraint, bias_constraint: stored on the weights.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = self._positive(filters, "filters")
        self.depth_multiplier = self._positive(depth_multiplier, "depth_multiplier")
        self._set_window(kernel_size, strides, padding, data_format, dilation_rate)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = depthwise_constraint
        self.pointwise_constraint = pointwise_constraint
        self.bias_constraint = bias_constraint

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier), initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.built = True

    def call(self, inputs):
        outputs = ops.separable_conv(inputs, self.depthwise_kernel, self.pointwise_kernel, self.strides, self.padding,
                                     self.data_format, self.dilation_rate)
        return self._add_bias_and_activate(outputs)

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape, self.filters)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "depth_multiplier": self.depth_multiplier,
            **self._shared_config(),
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "depthwise_constraint": None,
            "pointwise_constraint": None,
            "bias_constraint": None,
        }


class SeparableConv1D(BaseSeparableConv):
    """1D separable convolution over (batch, steps, channels) (see `BaseSeparableConv` for the args)."""

    rank = 1


class SeparableConv2D(BaseSeparableConv):
    """2D separable convolution over (batch, height, width, channels) (see `BaseSeparableConv` for the args)."""

    rank = 2
