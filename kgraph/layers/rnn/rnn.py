"""RNN, which applies a cell at every time step of a sequence, and FusedRNN, the base of SimpleRNN, LSTM and GRU."""

from __future__ import annotations

import inspect

import numpy as np

from kgraph import ops, regularizers
from kgraph.layers.layer import Layer
from kgraph.layers.rnn.cell import FusedCell
from kgraph import layers


def serialize_layer(layer: Layer) -> dict:
    """A layer as Keras serializes it: class name and config."""
    return {"module": "keras.layers", "class_name": type(layer).__name__, "config": layer.get_config(),
            "registered_name": None}


def deserialize_layer(config: dict | Layer, custom_objects: dict | None = None) -> Layer:
    """The layer a `serialize_layer` dict describes; its class comes from `custom_objects` or `kgraph.layers`."""
    if isinstance(config, Layer):
        return config

    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or getattr(layers, name, None)
    if cls is None:
        raise ValueError(f"Unknown layer class {name!r}; pass it in custom_objects={{{name!r}: {name}}}")
    return cls.from_config(config["config"])


def clone_layer(layer: Layer, **overrides) -> Layer:
    """A fresh, unbuilt layer with `layer`'s config (updated by `overrides`); RNNs get a clone of their cell."""
    config = {**layer.get_config(), **overrides}
    if isinstance(layer, RNN) and "cell" in config:
        config["cell"] = clone_layer(layer.cell)
    return type(layer).from_config(config)


def zero_states(sequences, shapes: list[tuple[int, ...]], dtype: str) -> list:
    """Zero states of `shapes` for the batch of `sequences`, also when the batch size is only known at run time."""
    rows = ops.zeros_like(ops.sum(sequences, axis=tuple(range(1, len(sequences.shape)))), dtype=dtype)
    zeros = {shape: ops.add(ops.reshape(rows, (None,) + (1,) * len(shape)), np.zeros(shape, dtype)) for shape in shapes}
    return [zeros[shape] for shape in shapes]


class RNN(Layer):
    """Runs `cell` over the time axis (1) of its input, as Keras' RNN.

    kgraph's own cells (SimpleRNNCell, LSTMCell, GRUCell) run the sequence as one fused recurrent op; any other
    cell is traced once into a step graph that a scan op repeats.

    Args:
        cell: a layer with `state_size` (an int, or a list with one int per state) and `call(inputs, states)`
            returning `(output, new_states)`; or a StackedRNNCells, whose states (and returned states) are grouped
            per cell.
        return_sequences: return the output of every step (batch, time, units), else only the last (batch, units).
        return_state: also return the final states, after the output.
        go_backwards: process the sequence from its end; the returned sequence is in that processing order.
        stateful: keep the final states of each batch as the initial states of the next (the batch size must be
            static); `reset_state()` zeroes them.
        unroll: accepted for Keras compatibility; the scan is compiled by XLA either way.
        zero_output_for_mask: masked steps output zeros instead of the previous output.
    """

    supports_masking = True
    input_rank: int | None = None

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        batch_size = kwargs.pop("batch_size", None)
        cell = deserialize_layer(cell) if isinstance(cell, dict) else cell
        if isinstance(cell, (list, tuple)) or not callable(getattr(cell, "call", None)):
            raise ValueError(f"Argument `cell` should be a layer with a `call` method, got cell={cell!r}")
        state_size = getattr(cell, "state_size", None)
        if not isinstance(state_size, (int, list, tuple)) or isinstance(state_size, bool):
            raise ValueError("The RNN cell should have a `state_size` attribute (single integer or list of integers, "
                             f"one integer per RNN state). Received: cell={cell!r}")
        super().__init__(**kwargs)
        if batch_size is not None and self._build_shapes is not None:
            self._build_shapes = (batch_size,) + tuple(self._build_shapes[1:])
        self.cell = cell
        self._nested_states = callable(getattr(cell, "nest_states", None))
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.zero_output_for_mask = zero_output_for_mask
        if self._nested_states:
            state_size = cell.flat_state_size
        self.state_size = [state_size] if isinstance(state_size, int) else list(state_size)
        self.states = None
        self.outputs_in_input_order = False

    def _state_shapes(self) -> list[tuple[int, ...]]:
        return [(s,) if isinstance(s, int) else tuple(s) for s in self.state_size]

    def build(self, sequences_shape, initial_state_shape=None):
        shape = tuple(sequences_shape)
        rank = f"of rank {self.input_rank}" if self.input_rank else "of rank 3 or more"
        if len(shape) < 3 or (self.input_rank and len(shape) != self.input_rank):
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) expects sequences {rank} (batch, timesteps, "
                             f"features), got input shape {shape}")
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((shape[0],) + shape[2:])
            self.cell.built = True
        if self.stateful:
            if shape[0] is None:
                raise ValueError(f"Layer {self.name!r}: with `stateful=True` the batch size must be static; found a "
                                 f"dynamic batch size in input shape {shape}. Pass batch_size=... to the Input.")
            self.states = [self.add_weight(shape=(shape[0],) + s, initializer="zeros", trainable=False,
                                           name=f"rnn_state_{i}") for i, s in enumerate(self._state_shapes())]
        self.built = True

    def reset_state(self, states=None) -> None:
        """Sets a stateful layer's states to zeros, or to `states` (one array per state)."""
        if self.states is None:
            return
        values = [np.zeros(v.shape) for v in self.states] if states is None else list(states)
        if len(values) != len(self.states):
            raise ValueError(f"Layer {self.name!r} has {len(self.states)} states, got {len(values)} values")
        for variable, value in zip(self.states, values):
            variable.assign(value)

    def reset_states(self, states=None) -> None:
        """Alias of `reset_state`."""
        self.reset_state(states)

    def compute_mask(self, inputs, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state and self._nested_states:
            return [output_mask] + self.cell.nest_states([None] * len(self.state_size))
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if sequences.dtype != self.compute_dtype:
            sequences = ops.cast(sequences, self.compute_dtype)
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            if self._nested_states:
                states = self.cell.flatten_states(states)
            if len(states) != len(self.state_size):
                raise ValueError(f"Layer {self.name!r} expects {len(self.state_size)} initial state(s), "
                                 f"got {len(states)}")
            states = [ops.cast(s, self.compute_dtype) for s in states]
        elif self.stateful:
            batch = sequences.shape[0]
            if batch is not None and batch != self.states[0].shape[0]:
                raise ValueError(f"Layer {self.name!r} is stateful with batch size {self.states[0].shape[0]}; "
                                 f"got sequences of shape {tuple(sequences.shape)}")
            states = [v.value for v in self.states]
        else:
            states = zero_states(sequences, self._state_shapes(), self.compute_dtype)
        output, final = self._recur(sequences, states, mask, training)
        if self.stateful:
            for variable, value in zip(self.states, final):
                variable.assign(value)
        if self._nested_states:
            final = self.cell.nest_states(final)
        return (output, *final) if self.return_state else output

    def _recur(self, sequences, states: list, mask, training):
        scan = {"go_backwards": self.go_backwards, "return_sequences": self.return_sequences,
                "zero_output_for_mask": self.zero_output_for_mask,
                "outputs_in_input_order": self.outputs_in_input_order}
        if isinstance(self.cell, FusedCell):
            return self.cell.recur(sequences, states, mask=mask, training=training, **scan)
        if self._nested_states:
            return self._recur_nested(sequences, states, mask, scan)

        def step(inputs, step_states):
            output, new_states = self.cell(inputs, step_states)
            return output, list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]

        return ops.rnn(step, sequences, states, mask=mask, name=f"{self.name}_step", **scan)

    def _recur_nested(self, sequences, states: list, mask, scan: dict):
        """The scan of a cell with per-cell states (StackedRNNCells). A masked step outputs the first state of the
        scan, so the last cell's first state (its previous output) goes first, and back in place after."""
        last = self.cell.state_size[-1]
        first_of_last = len(states) - (len(last) if isinstance(last, (list, tuple)) else 1)
        order = [first_of_last] + [i for i in range(len(states)) if i != first_of_last]

        def restore(permuted: list) -> list:
            flat = [None] * len(permuted)
            for position, index in enumerate(order):
                flat[index] = permuted[position]
            return flat

        def step(inputs, step_states):
            output, new_states = self.cell(inputs, self.cell.nest_states(restore(step_states)))
            new_states = self.cell.flatten_states(new_states)
            return output, [new_states[i] for i in order]

        output, final = ops.rnn(step, sequences, [states[i] for i in order], mask=mask, name=f"{self.name}_step",
                                **scan)
        return output, restore(final)

    def get_config(self) -> dict:
        return {**super().get_config(), "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask, "cell": serialize_layer(self.cell)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "RNN":
        config = dict(config)
        if "cell" in config:
            config["cell"] = deserialize_layer(config["cell"], custom_objects)
        return cls(**config)


class FusedRNN(RNN):
    """An RNN over a new cell of `cell_class`: takes the cell's arguments and shows them in its config, as Keras' LSTM.

    Args:
        units: positive int, the size of the output and of each state.
        **kwargs: the cell's arguments (see `cell_class`), RNN's arguments and the base Layer's.
    """

    cell_class: type[FusedCell] = FusedCell
    input_rank = 3

    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, activity_regularizer=None, use_cudnn="auto", **kwargs):
        if use_cudnn not in ("auto", True, False):
            raise ValueError("Invalid value received for argument `use_cudnn`. Expected one of {'auto', True, False}. "
                             f"Received: use_cudnn={use_cudnn!r}")
        kwargs.pop("implementation", None)
        cell_args = {name: kwargs.pop(name) for name in self.cell_names() if name in kwargs}
        cell = self.cell_class(units, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
                               name=f"{self.cell_class.op}_cell", **cell_args)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll, activity_regularizer=activity_regularizer, **kwargs)

    @classmethod
    def cell_names(cls) -> list[str]:
        """The cell's constructor arguments after `units`."""
        skip = ("self", "units", "kwargs")
        return [name for name in inspect.signature(cls.cell_class.__init__).parameters if name not in skip]

    def __getattr__(self, name: str):
        if name in type(self).cell_names() and "cell" in self.__dict__:
            return getattr(self.cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_config(self) -> dict:
        config = {key: value for key, value in super().get_config().items() if key != "cell"}
        base = ("name", "trainable", "dtype")
        cell = {key: value for key, value in self.cell.get_config().items() if key not in base}
        return {**config, **cell, "activity_regularizer": regularizers.serialize(self.activity_regularizer)}
