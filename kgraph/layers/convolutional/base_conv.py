"""The base of the convolution layers: argument checks, kernel and bias creation, the bias add and activation."""

from __future__ import annotations

from kgraph import activations, constraints, initializers, ops, regularizers
from kgraph.layers.layer import Layer
from kgraph.ops.convolution import (
    conv_output_shape, normalize_data_format, normalize_padding, normalize_tuple,
)


class ConvLayer(Layer):
    """What every convolution layer shares; a subclass sets `rank` (its number of spatial dims)."""

    rank: int

    def _describe(self) -> str:
        return f"Layer {self.name!r} ({type(self).__name__})"

    def _set_window(self, kernel_size, strides, padding, data_format, dilation_rate, allow_causal=False) -> None:
        """Normalizes and stores the window arguments; bad values raise ValueError naming the layer."""
        try:
            self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size")
            self.strides = normalize_tuple(strides, self.rank, "strides")
            self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate")
            self.padding = normalize_padding(padding, allow_causal)
            self.data_format = normalize_data_format(data_format)
        except ValueError as e:
            raise ValueError(f"{self._describe()}: {e}") from None
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{self._describe()}: strides > 1 cannot be combined with dilation_rate > 1. Received: "
                             f"strides={self.strides}, dilation_rate={self.dilation_rate}")

    def _positive(self, value, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{self._describe()}: `{name}` must be a positive int. Received: {name}={value!r}")
        return value

    def _input_channels(self, input_shape) -> int:
        """The channel count of a `rank + 2`-dim input; ValueError naming the layer and the shape otherwise."""
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{self._describe()} expects inputs of rank {self.rank + 2} (batch, {self.rank} spatial "
                             f"dims, channels), got input shape {input_shape}")
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        if channels is None:
            raise ValueError(f"{self._describe()} needs a known channel dim ({self.data_format}), got input shape "
                             f"{input_shape}")
        return channels

    def _output_shape(self, input_shape, filters: int) -> tuple:
        try:
            return conv_output_shape(input_shape, filters, self.kernel_size, self.strides, self.padding,
                                     self.dilation_rate, self.data_format)
        except ValueError as e:
            raise ValueError(f"{self._describe()}: {e}") from None

    def _add_bias_and_activate(self, outputs):
        if self.bias is not None:
            bias = self.bias
            if self.data_format == "channels_first":
                bias = ops.reshape(bias, (-1,) + (1,) * self.rank)
            outputs = ops.add(outputs, bias)
        return self.activation(outputs)

    def _shared_config(self) -> dict:
        return {"kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias}


class BaseConv(ConvLayer):
    """N-D convolution `activation(conv(inputs, kernel) + bias)`, kernel `(*kernel_size, in // groups, filters)`.

    Args:
        filters: positive int, the number of output channels.
        kernel_size: int or tuple of `rank` ints, the window's size.
        strides: int or tuple of `rank` ints; > 1 cannot be combined with dilation_rate > 1.
        padding: "valid" (none), "same" (output size ceil(input / stride)), or "causal" for 1D (zeros before the
            sequence only, so no output sees the future).
        data_format: "channels_last" (batch, *spatial, channels) or "channels_first" (batch, channels, *spatial);
            default `kgraph.config.image_data_format()`.
        dilation_rate: int or tuple of `rank` ints, the spacing of the kernel's taps.
        groups: positive int dividing both the input channels and `filters`; each group of input channels is
            convolved with its own `filters // groups` filters.
        activation: an activation name or callable (default: none).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers (default "glorot_uniform" and "zeros").
        kernel_regularizer, bias_regularizer: penalties added to the loss.
        activity_regularizer: a penalty on the output, added to the loss.
        kernel_constraint, bias_constraint: stored on the weights.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1, groups=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = self._positive(filters, "filters")
        self.groups = self._positive(groups, "groups")
        if filters % groups:
            raise ValueError(f"{self._describe()}: filters={filters} must be divisible by groups={groups}")
        self._set_window(kernel_size, strides, padding, data_format, dilation_rate, allow_causal=self.rank == 1)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = bias_constraint

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ValueError(f"{self._describe()}: the input's {channels} channels must be divisible by "
                             f"groups={self.groups}; input shape {tuple(input_shape)}")
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.built = True

    def call(self, inputs):
        outputs = ops.conv(inputs, self.kernel, self.strides, self.padding, self.data_format, self.dilation_rate)
        return self._add_bias_and_activate(outputs)

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape, self.filters)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            **self._shared_config(),
            "groups": self.groups,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(constraints.get(self.bias_constraint)),
        }
