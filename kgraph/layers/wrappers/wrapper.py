"""Wrapper: the base of layers that hold one inner layer, serialized in their config."""

from __future__ import annotations

from kgraph.layers.layer import Layer
from kgraph.layers.rnn.rnn import deserialize_layer, serialize_layer


class Wrapper(Layer):
    """Holds `layer` (its weights are the wrapper's) and builds it on the wrapper's build.

    Args:
        layer: the wrapped layer.
    """

    def __init__(self, layer: Layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Layer {layer} supplied to Wrapper isn't a supported layer type. Please ensure wrapped "
                             "layer is a valid Keras layer.")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None) -> None:
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
        self.built = True

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Wrapper":
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"), custom_objects)
        return cls(layer, **config)
