"""SimpleRNNCell and SimpleRNN: `h = activation(x @ kernel + bias + h @ recurrent_kernel)`."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.rnn.cell import FusedCell
from kgraph.layers.rnn.rnn import FusedRNN


class SimpleRNNCell(FusedCell):
    """The cell of a fully connected RNN whose output is fed back as its state.

    Args:
        units: positive int, the size of the output and the state.
        activation: the activation, one of tanh, sigmoid, hard_sigmoid, relu, linear (None), elu, softsign, softplus.
        use_bias: whether to add a bias.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of the kernel
            ("glorot_uniform"), the recurrent kernel ("orthogonal") and the bias ("zeros").
        kernel_regularizer, recurrent_regularizer, bias_regularizer: penalties added to the loss.
        kernel_constraint, recurrent_constraint, bias_constraint: accepted for Keras compatibility, not applied.
        dropout: fraction of the inputs dropped while training (one mask for every step).
        recurrent_dropout: fraction of the recurrent state dropped; kgraph does not support it in training.
        seed: an int making the dropout masks reproducible.
    """

    op = "simple_rnn"

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)

    def _scan(self, sequences, states, mask, scan):
        return ops.simple_rnn(sequences, states[0], self.kernel, self.recurrent_kernel, self.bias, mask=mask,
                              activation=self.activation, **scan)


class SimpleRNN(FusedRNN):
    """A fully connected RNN, as Keras' SimpleRNN: takes `units` and SimpleRNNCell's arguments, and RNN's."""

    cell_class = SimpleRNNCell
