"""LSTMCell and LSTM (Hochreiter 1997), with Keras' gate order i, f, c, o in the kernels."""

from __future__ import annotations

import numpy as np

from kgraph import activations, ops
from kgraph.layers.rnn.cell import FusedCell
from kgraph.layers.rnn.rnn import FusedRNN
from kgraph.ops.recurrent import activation_name


class LSTMCell(FusedCell):
    """The cell of a long short-term memory layer; its states are the output h and the carry c.

    Args:
        units: positive int, the size of the output and of each state.
        activation: the cell activation (tanh), one of tanh, sigmoid, hard_sigmoid, relu, linear (None), elu,
            softsign, softplus.
        recurrent_activation: the gate activation (sigmoid), from the same list.
        use_bias: whether to add a bias.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of the kernel
            ("glorot_uniform"), the recurrent kernel ("orthogonal") and the bias ("zeros").
        unit_forget_bias: start the forget gate's bias at 1 (and the rest from `bias_initializer`).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: penalties added to the loss.
        kernel_constraint, recurrent_constraint, bias_constraint: accepted for Keras compatibility, not applied.
        dropout: fraction of the inputs dropped while training (one mask for every step).
        recurrent_dropout: fraction of the recurrent state dropped; kgraph does not support it in training.
        seed: an int making the dropout masks reproducible.
    """

    op = "lstm"
    gates = 4
    num_states = 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        activation_name(recurrent_activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, initializer = self.units, self.bias_initializer

        def bias_with_unit_forget_gate(shape, dtype=None):
            parts = [initializer((units,), dtype), np.ones((units,)), initializer((2 * units,), dtype)]
            return np.concatenate([np.asarray(p, dtype="float64") for p in parts])

        return bias_with_unit_forget_gate

    def _scan(self, sequences, states, mask, scan):
        return ops.lstm(sequences, states[0], states[1], self.kernel, self.recurrent_kernel, self.bias, mask=mask,
                        activation=self.activation, recurrent_activation=self.recurrent_activation, **scan)

    def get_config(self) -> dict:
        return {**super().get_config(), "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class LSTM(FusedRNN):
    """Long short-term memory, as Keras' LSTM: takes `units` and LSTMCell's arguments, and RNN's."""

    cell_class = LSTMCell
