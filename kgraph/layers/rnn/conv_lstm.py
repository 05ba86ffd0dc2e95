"""ConvLSTM1D/2D/3D: LSTMs whose input and recurrent transformations are convolutions (Shi et al., 2015)."""

from __future__ import annotations

import numpy as np

from kgraph import activations, constraints, initializers, ops, regularizers
from kgraph import random as kg_random
from kgraph.layers.convolutional.base_conv import ConvLayer
from kgraph.layers.rnn.orthogonal import get_initializer
from kgraph.layers.rnn.rnn import RNN
from kgraph.ops.nn import dropout_with_key
from kgraph.tracing import current_trace

CELL_ARGS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
             "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
             "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
             "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed")


class ConvLSTMCell(ConvLayer):
    """One step of a convolutional LSTM over (batch, *spatial, channels) frames; states h and c are feature maps.

    Gates follow Keras' order i, f, c, o along the kernels' last axis; the recurrent convolution has stride 1 and
    "same" padding, so the states keep the input convolution's output shape.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        if rank > 3:
            raise ValueError(f"Rank {rank} convolutions are not currently implemented. Received: rank={rank}")
        self.rank = rank
        self.filters = self._positive(filters, "filters")
        self._set_window(kernel_size, strides, padding, data_format, dilation_rate)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = get_initializer(kernel_initializer)
        self.recurrent_initializer = get_initializer(recurrent_initializer)
        self.bias_initializer = get_initializer(bias_initializer)
        self.unit_forget_bias = unit_forget_bias
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, dropout))
        self.recurrent_dropout = min(1.0, max(0.0, recurrent_dropout))
        self.seed = seed
        self._seed_offset = kg_random.next_seed() if seed is None else int(seed)
        self.state_size = -1

    def state_shape(self, input_shape) -> tuple:
        """The shape of h and c, without batch, for steps of `input_shape` (batch first)."""
        spatial = input_shape[2:] if self.data_format == "channels_first" else input_shape[1:-1]
        if None in tuple(spatial):
            raise ValueError("ConvLSTM layers only support static input shapes for the spatial dimension. "
                             f"Received invalid input shape: input_shape={tuple(input_shape)}")
        return tuple(self._output_shape(input_shape, self.filters)[1:])

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.state_shape(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (channels, 4 * self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight(shape=self.kernel_size + (self.filters, 4 * self.filters),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint, name="recurrent_kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(4 * self.filters,), initializer=self._bias_initializer(),
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.built = True

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        filters, initializer = self.filters, self.bias_initializer

        def bias_with_unit_forget_gate(shape, dtype=None):
            parts = [initializer((filters,), dtype), np.ones((filters,)), initializer((2 * filters,), dtype)]
            return np.concatenate([np.asarray(p, dtype="float64") for p in parts])

        return bias_with_unit_forget_gate

    def drop_inputs(self, sequences):
        """`sequences` with `dropout` applied while training: one mask over (batch, *spatial, channels) for every
        step, as kgraph's fused cells drop their inputs."""
        trace = current_trace()
        key = trace.rng() if trace is not None else kg_random.key()
        ones = ops.ones_like(ops.sum(sequences, axis=1))
        return ops.multiply(sequences, ops.expand_dims(dropout_with_key(ones, self.dropout, self._seed_offset, key), 1))

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        channel_axis = 1 if self.data_format == "channels_first" else -1
        x = ops.conv(inputs, self.kernel, strides=self.strides, padding=self.padding, data_format=self.data_format,
                     dilation_rate=self.dilation_rate)
        if self.bias is not None:
            bias = self.bias if channel_axis == -1 else ops.reshape(self.bias, (-1,) + (1,) * self.rank)
            x = ops.add(x, bias)
        h = ops.conv(h_tm1, self.recurrent_kernel, strides=1, padding="same", data_format=self.data_format)
        x_i, x_f, x_c, x_o = ops.split(ops.add(x, h), 4, axis=channel_axis)
        i = self.recurrent_activation(x_i)
        f = self.recurrent_activation(x_f)
        c = ops.add(ops.multiply(f, c_tm1), ops.multiply(i, self.activation(x_c)))
        o = self.recurrent_activation(x_o)
        h = ops.multiply(o, self.activation(c))
        return h, [h, c]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


class ConvLSTM(RNN):
    """An RNN over a ConvLSTMCell of `rank` spatial dims: sequences (batch, time, *spatial, channels), or
    (batch, time, channels, *spatial) with `data_format="channels_first"`."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, **kwargs):
        cell = ConvLSTMCell(
            self.rank, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, name="conv_lstm_cell", dtype=kwargs.get("dtype"))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, activity_regularizer=activity_regularizer,
                         **kwargs)
        self.input_rank = self.rank + 3

    def __getattr__(self, name: str):
        if name in CELL_ARGS and "cell" in self.__dict__:
            return getattr(self.cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def build(self, sequences_shape, initial_state_shape=None):
        shape = tuple(sequences_shape)
        if len(shape) != self.input_rank:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) expects sequences of rank {self.input_rank} "
                             f"(batch, timesteps, {self.rank} spatial dims and channels), got input shape {shape}")
        state = self.cell.state_shape((shape[0],) + shape[2:])
        self.state_size = [state, state]
        super().build(sequences_shape, initial_state_shape)

    def _recur(self, sequences, states: list, mask, training):
        if training and self.cell.recurrent_dropout > 0:
            raise NotImplementedError(f"Layer {self.name!r}: recurrent_dropout is not supported in training by "
                                      "kgraph's ConvLSTM layers; use dropout on the inputs")
        if training and self.cell.dropout > 0:
            sequences = self.cell.drop_inputs(sequences)
        return super()._recur(sequences, states, mask, training)

    def get_config(self) -> dict:
        config = {key: value for key, value in super().get_config().items() if key != "cell"}
        cell = {key: value for key, value in self.cell.get_config().items() if key not in ("name", "trainable",
                                                                                           "dtype")}
        return {**config, **cell, "activity_regularizer": regularizers.serialize(self.activity_regularizer)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "ConvLSTM":
        return cls(**config)


class ConvLSTM1D(ConvLSTM):
    """1-D convolutional LSTM over (batch, time, steps, channels) sequences.

    Args:
        filters: the number of output channels of each convolution.
        kernel_size, strides, dilation_rate: int or tuple of 1 int, the input convolution's window (the
            recurrent convolution has stride 1 and "same" padding); strides > 1 cannot be combined with dilation.
        padding: "valid" or "same", for the input convolution.
        data_format: "channels_last" (default) or "channels_first".
        activation, recurrent_activation: the cell (tanh) and gate (sigmoid) activations.
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer, unit_forget_bias: as for LSTM.
        kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer: penalties on the loss.
        kernel_constraint, recurrent_constraint, bias_constraint: constraints on the weights.
        dropout: the fraction of the inputs dropped while training (one mask for every step).
        recurrent_dropout: the fraction of the recurrent state dropped; kgraph does not support it in training.
        seed: an int making the dropout masks reproducible.
        return_sequences, return_state, go_backwards, stateful: as for RNN.
    """

    rank = 1


class ConvLSTM2D(ConvLSTM):
    """2-D convolutional LSTM over (batch, time, rows, cols, channels) sequences; arguments as ConvLSTM1D's, with
    tuples of 2 ints."""

    rank = 2


class ConvLSTM3D(ConvLSTM):
    """3-D convolutional LSTM over (batch, time, dim1, dim2, dim3, channels) sequences; arguments as ConvLSTM1D's,
    with tuples of 3 ints."""

    rank = 3
