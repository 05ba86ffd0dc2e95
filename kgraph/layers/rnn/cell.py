"""FusedCell: the base of kgraph's SimpleRNN, LSTM and GRU cells, whose whole-sequence scan is one recurrent op."""

from __future__ import annotations

from kgraph import activations, initializers, ops, regularizers
from kgraph import random as kg_random
from kgraph.layers.layer import Layer
from kgraph.layers.rnn.orthogonal import get_initializer
from kgraph.ops.nn import dropout_with_key
from kgraph.ops.recurrent import activation_name
from kgraph.tracing import current_trace


class FusedCell(Layer):
    """A cell with Keras' weights (kernel, recurrent_kernel, bias) that runs a whole sequence as one op.

    `RNN` calls `recur` on the sequence; calling the cell on one step runs the same op over one time step.
    Subclasses set `op` (the IR op, which also names the cell), `gates` and `num_states`, and implement `_scan`.
    """

    op = ""
    gates = 1
    num_states = 1

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Received an invalid value for argument `units`, expected a positive integer, "
                             f"got {units!r} (layer {self.name!r})")
        activation_name(activation)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = get_initializer(kernel_initializer)
        self.recurrent_initializer = get_initializer(recurrent_initializer)
        self.bias_initializer = get_initializer(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.recurrent_constraint = recurrent_constraint
        self.bias_constraint = bias_constraint
        self.dropout = min(1.0, max(0.0, dropout))
        self.recurrent_dropout = min(1.0, max(0.0, recurrent_dropout))
        self.seed = seed
        self._seed_offset = kg_random.next_seed() if seed is None else int(seed)
        self.state_size = [units] * self.num_states if self.num_states > 1 else units
        self.output_size = units

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) takes steps of shape (batch, features) with "
                             f"known features, got input shape {tuple(input_shape)}")
        width = self.gates * self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], width), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, width), initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint, name="recurrent_kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=self._bias_shape(), initializer=self._bias_initializer(),
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")
        self.built = True

    def _bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def _scan(self, sequences, states: list, mask, scan: dict) -> tuple:
        raise NotImplementedError

    def recur(self, sequences, states: list, mask=None, training=False, **scan) -> tuple:
        """Runs the cell over `sequences` (batch, time, features); returns `(output, final_states)`.

        Args:
            sequences: the inputs, (batch, time, features).
            states: the initial states, each (batch, units).
            mask: bool (batch, time), or None.
            training: applies `dropout` to the inputs (one mask for every step, as Keras).
            **scan: go_backwards, return_sequences, zero_output_for_mask, outputs_in_input_order.
        """
        if training and self.recurrent_dropout > 0:
            raise NotImplementedError(f"Layer {self.name!r}: recurrent_dropout is not supported in training by "
                                      "kgraph's fused recurrent ops; use dropout on the inputs")
        if training and self.dropout > 0:
            trace = current_trace()
            key = trace.rng() if trace is not None else kg_random.key()
            ones = ops.ones_like(ops.sum(sequences, axis=1))
            step_mask = dropout_with_key(ones, self.dropout, self._seed_offset, key)
            sequences = ops.multiply(sequences, ops.expand_dims(step_mask, 1))
        results = self._scan(sequences, list(states), mask, scan)
        return results[0], list(results[1:])

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        output, new_states = self.recur(ops.expand_dims(inputs, 1), list(states) if nested else [states],
                                        training=training)
        return output, new_states if nested or len(new_states) > 1 else new_states[0]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": None,
            "recurrent_constraint": None,
            "bias_constraint": None,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
