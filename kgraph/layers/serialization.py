"""`kgraph.layers.serialize` / `deserialize`: one layer as Keras' serialized dict and back.

Whole models (Sequential, Functional) and registered custom classes go through
`kgraph.saving.serialize_keras_object` / `deserialize_keras_object`, which also handle nesting and build configs.
"""

from __future__ import annotations

import inspect
from typing import Any

import kgraph.layers
from kgraph.layers.layer import Layer


def serialize(layer: Layer) -> dict[str, Any]:
    """`{"module": "keras.layers", "class_name", "config", "registered_name"}` for `layer` (Keras reads it)."""
    if not isinstance(layer, Layer):
        raise TypeError(f"`kgraph.layers.serialize` expects a Layer. Received: {layer!r} of type {type(layer).__name__}")
    builtin = type(layer).__module__.startswith("kgraph.layers")
    return {"module": "keras.layers" if builtin else type(layer).__module__, "class_name": type(layer).__name__,
            "config": layer.get_config(), "registered_name": None if builtin else type(layer).__name__}


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Layer:
    """The layer a serialized dict (from `serialize` or `keras.layers.serialize`) describes.

    Args:
        config: `{"class_name": ..., "config": {...}}`.
        custom_objects: extra class names → Layer classes.
    """
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"A layer config must be a dict with a string 'class_name'. Received: {config!r}")
    name = config["class_name"]
    custom = dict(custom_objects or {})
    cls = custom.get(name) or custom.get(config.get("registered_name") or "") or getattr(kgraph.layers, name, None)
    if name in ("Sequential", "Functional", "Model"):
        raise ValueError(f"{name} configs describe whole models: load them with "
                         "`kgraph.saving.deserialize_keras_object(config)`.")
    if not (inspect.isclass(cls) and issubclass(cls, Layer)):
        raise ValueError(f"Unknown layer class {name!r}: not a kgraph layer. Pass it in `custom_objects`, "
                         "or register it with `kgraph.saving.register_keras_serializable`.")
    return cls.from_config(dict(config.get("config") or {}))
