"""A model's architecture as JSON: `model.to_json()` and `model_from_json` (Keras' format; no weights)."""

from __future__ import annotations

import json

from kgraph.saving import file_io
from kgraph.saving.saving_lib import _json_default
from kgraph.saving.serialization import object_sharing_scope, serialize_keras_object
from kgraph.saving.saving_lib import _parse_config, model_from_config


def to_json(model, **kwargs) -> str:
    """The model's config (and compile config, when compiled) as a JSON string; `kwargs` go to `json.dumps`."""
    with object_sharing_scope():
        config = serialize_keras_object(model)
    return json.dumps(config, default=_json_default, **kwargs)


def model_from_json(json_string: str | bytes, custom_objects: dict | None = None, safe_mode: bool = True):
    """A new model (fresh weights) from `to_json`'s output, or Keras'; compiled when the JSON has a compile config.

    Args:
        json_string: the JSON text.
        custom_objects: name -> custom class or function the config refers to.
        safe_mode: refuse Python bytecode (lambdas) in the config.
    """
    raw = json_string.encode("utf-8") if isinstance(json_string, str) else bytes(json_string)
    if len(raw) > file_io.MAX_CONFIG_BYTES:
        raise ValueError(f"model_from_json: the JSON is {len(raw)} bytes, over the {file_io.MAX_CONFIG_BYTES}-byte "
                         "limit")
    config = _parse_config(raw, "the JSON string")
    return model_from_config(config, "the JSON string", custom_objects, compile=True, safe_mode=safe_mode)
