"""Activation: applies an activation function as a layer."""

from __future__ import annotations

from kgraph import activations
from kgraph.layers.layer import Layer


class Activation(Layer):
    """Applies `activation` (a name such as "relu" or a callable) to its input."""

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.built = True

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
