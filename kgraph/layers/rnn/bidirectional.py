"""Bidirectional: a recurrent layer run forwards and a copy run backwards, their outputs merged."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.layer import Layer
from kgraph.layers.rnn.rnn import RNN, clone_layer, deserialize_layer, serialize_layer

MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _merge(y, y_rev, mode: str | None):
    if mode == "concat":
        return ops.concatenate([y, y_rev], axis=-1)
    if mode == "sum":
        return ops.add(y, y_rev)
    if mode == "ave":
        return ops.divide(ops.add(y, y_rev), 2.0)
    if mode == "mul":
        return ops.multiply(y, y_rev)
    return (y, y_rev)


class Bidirectional(Layer):
    """Runs `layer` over the sequence forwards and a copy of it backwards, then merges the two outputs.

    The backward layer's output sequence is realigned with the input's time steps before merging, as in Keras.

    Args:
        layer: an RNN layer (SimpleRNN, LSTM, GRU or RNN); the forward layer is a fresh copy of it named
            "forward_<name>" and, unless `backward_layer` is given, the backward one a copy named "backward_<name>"
            with `go_backwards=True`.
        merge_mode: how to combine the outputs: "concat" (default), "sum", "mul", "ave", or None for both.
        weights: initial weights, the forward layer's then the backward layer's, set when the layer is built.
        backward_layer: the RNN layer that reads the sequence backwards (`go_backwards=True`); it must agree with
            `layer` on `stateful`, `return_sequences` and `return_state`.
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, RNN):
            raise ValueError(f"Please initialize `Bidirectional` layer with a recurrent layer (kgraph.layers.RNN or a "
                             f"subclass). Received: {layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, RNN):
            raise ValueError(f"`backward_layer` needs to be a recurrent layer (kgraph.layers.RNN or a subclass). "
                             f"Received: {backward_layer!r}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode!r}. Merge mode should be one of "
                             '{"sum", "mul", "ave", "concat", None}')
        super().__init__(**kwargs)
        self.forward_layer = clone_layer(layer, name=f"forward_{layer.name.removeprefix('forward_')}")
        if backward_layer is None:
            name = f"backward_{layer.name.removeprefix('backward_')}"
            backward_layer = clone_layer(layer, go_backwards=True, name=name)
        self.backward_layer = backward_layer
        if not self.backward_layer.go_backwards or self.forward_layer.go_backwards:
            raise ValueError(f"Bidirectional {self.name!r}: the forward layer must have go_backwards=False and the "
                             f"backward layer go_backwards=True; got {self.forward_layer.go_backwards} and "
                             f"{self.backward_layer.go_backwards}")
        for attribute in ("stateful", "return_sequences", "return_state"):
            forward, backward = getattr(self.forward_layer, attribute), getattr(self.backward_layer, attribute)
            if forward != backward:
                raise ValueError(f"Forward layer and backward layer are expected to have the same value for "
                                 f"attribute {attribute!r}, got {forward!r} for forward layer and {backward!r} for "
                                 "backward layer")
        for rnn in (self.forward_layer, self.backward_layer):
            rnn.zero_output_for_mask = rnn.return_sequences
        self.backward_layer.outputs_in_input_order = True
        self.merge_mode = merge_mode
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self._initial_weights = weights

    @property
    def states(self):
        if self.forward_layer.states is None or self.backward_layer.states is None:
            return None
        return tuple(self.forward_layer.states + self.backward_layer.states)

    def reset_state(self) -> None:
        """Zeroes the states of both layers (they must be stateful)."""
        if not self.stateful:
            raise AttributeError(f"Layer {self.name!r} must be stateful to reset its states.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self) -> None:
        """Alias of `reset_state`."""
        self.reset_state()

    def build(self, sequences_shape, initial_state_shape=None):
        for rnn in (self.forward_layer, self.backward_layer):
            if not rnn.built:
                rnn.build(sequences_shape)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None
        self.built = True

    def compute_mask(self, inputs, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask] if self.merge_mode else [output_mask, output_mask]
        if self.return_state:
            return masks + [None] * 2 * len(self.forward_layer.state_size)
        return masks[0] if self.merge_mode else masks

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(sequences, initial_state=forward_state, mask=mask, training=training)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, mask=mask, training=training)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        output = _merge(y, y_rev, self.merge_mode)
        if not self.return_state:
            return output
        return output + states if self.merge_mode is None else (output,) + states

    def get_config(self) -> dict:
        return {**super().get_config(), "merge_mode": self.merge_mode, "layer": serialize_layer(self.forward_layer),
                "backward_layer": serialize_layer(self.backward_layer)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Bidirectional":
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize_layer(config["backward_layer"], custom_objects)
        return cls(**config)
