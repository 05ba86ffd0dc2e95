"""`kgraph.saving`: whole models (`.keras`), weights (`.weights.h5`), JSON configs, and custom objects.

Files follow Keras 3's formats, so Keras loads what kgraph saves and the other way round.
"""

from kgraph.saving.file_editor import KerasFileEditor
from kgraph.saving.json_io import model_from_json, to_json
from kgraph.saving.object_registration import (
    CustomObjectScope, SafeModeScope, custom_object_scope, enable_unsafe_deserialization, get_custom_objects,
    get_registered_name, get_registered_object, register_keras_serializable, register_serializable,
)
from kgraph.saving.saving_lib import load_model, save_model
from kgraph.saving.serialization import deserialize_keras_object, serialize_keras_object
from kgraph.saving.weights_io import load_weights, save_weights

__all__ = [
    "CustomObjectScope", "KerasFileEditor", "SafeModeScope", "custom_object_scope", "deserialize_keras_object",
    "enable_unsafe_deserialization", "get_custom_objects", "get_registered_name", "get_registered_object",
    "load_model", "load_weights", "model_from_json", "register_keras_serializable", "register_serializable",
    "save_model", "save_weights", "serialize_keras_object", "to_json",
]
