"""GRUCell and GRU (Cho et al. 2014), with Keras' gate order z, r, h and both reset conventions."""

from __future__ import annotations

from kgraph import activations, ops
from kgraph.layers.rnn.cell import FusedCell
from kgraph.layers.rnn.rnn import FusedRNN
from kgraph.ops.recurrent import activation_name


class GRUCell(FusedCell):
    """The cell of a gated recurrent unit layer.

    Args:
        units: positive int, the size of the output and the state.
        activation: the candidate activation (tanh), one of tanh, sigmoid, hard_sigmoid, relu, linear (None), elu,
            softsign, softplus.
        recurrent_activation: the gate activation (sigmoid), from the same list.
        use_bias: whether to add biases: (2, 3 * units) input and recurrent biases with `reset_after`, else one.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of the kernel
            ("glorot_uniform"), the recurrent kernel ("orthogonal") and the bias ("zeros").
        kernel_regularizer, recurrent_regularizer, bias_regularizer: penalties added to the loss.
        kernel_constraint, recurrent_constraint, bias_constraint: accepted for Keras compatibility, not applied.
        dropout: fraction of the inputs dropped while training (one mask for every step).
        recurrent_dropout: fraction of the recurrent state dropped; kgraph does not support it in training.
        reset_after: apply the reset gate after the recurrent matmul (True, Keras' default) or before it.
        seed: an int making the dropout masks reproducible.
    """

    op = "gru"
    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 seed=None, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        activation_name(recurrent_activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = reset_after

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _scan(self, sequences, states, mask, scan):
        return ops.gru(sequences, states[0], self.kernel, self.recurrent_kernel, self.bias, mask=mask,
                       activation=self.activation, recurrent_activation=self.recurrent_activation,
                       reset_after=self.reset_after, **scan)

    def get_config(self) -> dict:
        return {**super().get_config(), "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


class GRU(FusedRNN):
    """Gated recurrent unit, as Keras' GRU: takes `units` and GRUCell's arguments, and RNN's."""

    cell_class = GRUCell
