"""Conv1DTranspose, Conv2DTranspose, Conv3DTranspose: transposed convolutions, which upsample by their strides."""

from __future__ import annotations

import operator

from kgraph import activations, initializers, ops, regularizers
from kgraph.ir.ops.convolution import conv_transpose_crops, join_layout, split_layout
from kgraph.layers.convolutional.base_conv import ConvLayer


class BaseConvTranspose(ConvLayer):
    """N-D transposed convolution: `activation(conv_transpose(inputs, kernel) + bias)`.

    The kernel is `(*kernel_size, filters, in_channels)`, the layout of the convolution it transposes. Each spatial
    dim grows to `(size - 1) * stride + max(window, stride)` ("valid") or `size * stride` ("same").

    Args:
        filters: positive int, the number of output channels.
        kernel_size: int or tuple of `rank` ints, the window's size.
        strides: int or tuple of `rank` ints, the upsampling factors; > 1 cannot be combined with dilation_rate > 1.
        padding: "valid" or "same".
        output_padding: None, or an int or tuple of `rank` ints, each below its stride: with it a dim is
            `(size - 1) * stride + window - 2 * crop + output_padding` (Keras' and TensorFlow's definition).
        data_format: "channels_last" or "channels_first"; default `kgraph.config.image_data_format()`.
        dilation_rate: int or tuple of `rank` ints.
        activation: an activation name or callable (default: none).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers (default "glorot_uniform" and "zeros").
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to the loss.
        kernel_constraint, bias_constraint: stored on the weights.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = self._positive(filters, "filters")
        self._set_window(kernel_size, strides, padding, data_format, dilation_rate)
        self.output_padding = None
        if output_padding is not None:
            padding_values = (output_padding,) * self.rank if isinstance(output_padding, int) else output_padding
            self.output_padding = tuple(operator.index(p) for p in padding_values)
            if len(self.output_padding) != self.rank or any(
                    not 0 <= p < s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(f"{self._describe()}: output_padding must be {self.rank} ints, each >= 0 and below "
                                 f"its stride. Received: output_padding={output_padding!r}, strides={self.strides}")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.built = True

    def call(self, inputs):
        outputs = ops.conv_transpose(inputs, self.kernel, self.strides, self.padding, self.output_padding,
                                     self.data_format, self.dilation_rate)
        return self._add_bias_and_activate(outputs)

    def compute_output_shape(self, input_shape):
        batch, spatial, _ = split_layout(tuple(input_shape), self.data_format)
        crops = conv_transpose_crops(self.kernel_size, self.strides, self.dilation_rate, self.padding,
                                     self.output_padding)
        out = [None if size is None else (size - 1) * s + (k - 1) * d + 1 - before - after
               for size, k, s, d, (before, after) in zip(spatial, self.kernel_size, self.strides, self.dilation_rate,
                                                         crops)]
        return join_layout(batch, out, self.filters, self.data_format)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            **self._shared_config(),
            "output_padding": self.output_padding,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": None,
            "bias_constraint": None,
        }


class Conv1DTranspose(BaseConvTranspose):
    """1D transposed convolution over (batch, steps, channels) (see `BaseConvTranspose` for the args)."""

    rank = 1


class Conv2DTranspose(BaseConvTranspose):
    """2D transposed convolution over (batch, height, width, channels) (see `BaseConvTranspose` for the args)."""

    rank = 2


class Conv3DTranspose(BaseConvTranspose):
    """3D transposed convolution (see `BaseConvTranspose`); as in Keras, data_format comes before output_padding."""

    rank = 3

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, output_padding=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides, padding, output_padding, data_format, **kwargs)
