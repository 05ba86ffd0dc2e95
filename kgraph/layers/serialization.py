"""`kgraph.layers.serialize` and `deserialize`: a layer to and from Keras' {class_name, config} form."""

from __future__ import annotations

from kgraph.layers.layer import Layer
from kgraph.layers.rnn.rnn import deserialize_layer, serialize_layer


def serialize(layer: Layer) -> dict:
    """The layer as Keras serializes it: module, class name, config."""
    return serialize_layer(layer)


def deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    """A new layer from `serialize`'s output (or Keras'); custom classes come from `custom_objects`."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize expects a dict with 'class_name' and 'config' keys, got {config!r}")
    return deserialize_layer(config, custom_objects)
