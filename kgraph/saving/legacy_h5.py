"""Whole models in the legacy HDF5 format (`model.save("m.h5")`, Keras 2 and tf.keras files).

The root holds the attributes `model_config` (JSON `{"class_name", "config"}`), `training_config` (compile
arguments and `optimizer_config`), `keras_version` and `backend`; `model_weights` holds one group per layer
(`layer_names`, and per layer `weight_names` with the datasets), `optimizer_weights` the optimizer's variables.
"""

from __future__ import annotations

import io
import json
import os
import warnings

import h5py
import numpy as np

from kgraph.saving import file_io, saving_lib, weights_io
from kgraph.saving.serialization import deserialize_keras_object, object_sharing_scope, serialize_keras_object
from kgraph.version import __version__
from kgraph import losses, metrics, optimizers
from kgraph.saving.object_registration import CustomObjectScope, SafeModeScope


def _string_list(values: list[str]) -> np.ndarray:
    return np.array([v.encode("utf-8") for v in values], dtype="S") if values else np.array([], dtype="S1")


def _write_subset(group, variables: list) -> None:
    names, used = [], set()
    for v in variables:
        name, k = str(v.path), 1
        while name in used:
            name, k = f"{v.path}_{k}", k + 1
        used.add(name)
        names.append(name)
    group.attrs["weight_names"] = _string_list(names)
    for name, v in zip(names, variables):
        group.create_dataset(name, data=np.asarray(v.numpy()))


def save_model(model, path: str) -> None:
    """Writes `model` as a legacy `.h5` file, atomically."""
    if not model.built:
        raise ValueError(f"Model {model.name!r} has not been built, so it cannot be saved yet")
    with object_sharing_scope():
        serialized = serialize_keras_object(model)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["keras_version"] = __version__
        f.attrs["backend"] = "jax"
        f.attrs["model_config"] = json.dumps({"class_name": serialized["class_name"], "config": serialized["config"]},
                                             default=saving_lib._json_default)
        compile_config = serialized.get("compile_config")
        if compile_config:
            training = {k: v for k, v in compile_config.items() if k != "optimizer"}
            optimizer = compile_config["optimizer"]
            training["optimizer_config"] = {"class_name": optimizer["class_name"], "config": optimizer["config"]}
            f.attrs["training_config"] = json.dumps(training, default=saving_lib._json_default)
        weights = f.create_group("model_weights")
        layers = list(model._saved_layers)
        weights.attrs["layer_names"] = _string_list([layer.name for layer in layers])
        weights.attrs["backend"] = "jax"
        weights.attrs["keras_version"] = __version__
        for layer in layers:
            _write_subset(weights.create_group(layer.name), weights_io._legacy_weights(layer))
        _write_subset(weights.create_group("top_level_model_weights"), model._trainable_variables + model._non_trainable_variables)
        if getattr(model, "compiled", False) and model.optimizer is not None and model.optimizer.state is not None:
            saved: dict = {}
            model.optimizer.save_own_variables(saved)
            arrays = [np.asarray(saved[str(i)]) for i in range(len(saved))]
            group = f.create_group("optimizer_weights")
            names = [f"{model.optimizer.name}/{i}" for i in range(len(arrays))]
            group.attrs["weight_names"] = _string_list(names)
            for name, array in zip(names, arrays):
                group.create_dataset(name, data=array)
    file_io.write_bytes_atomic(path, buffer.getvalue())


def _attribute_json(f, name: str, source: str):
    raw = f.attrs.get(name)
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    if len(raw) > file_io.MAX_CONFIG_BYTES:
        raise ValueError(f"{source}: the {name} attribute is over the {file_io.MAX_CONFIG_BYTES}-byte limit")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"{source}: the {name} attribute is not valid JSON: {e}") from None


def _compile_from_training_config(model, training: dict, custom_objects, safe_mode) -> None:
    optimizer_config = dict(training.get("optimizer_config") or {})
    inner = {k: v for k, v in (optimizer_config.get("config") or {}).items()
             if not (k == "decay" and not v) and k not in ("is_legacy_optimizer", "jit_compile")}
    optimizer = deserialize_keras_object({**optimizer_config, "config": inner}, custom_objects, safe_mode,
                                         module_objects=vars(optimizers))

    def objects(config, module):
        if config is None or isinstance(config, str):
            return config
        if isinstance(config, list):
            return [objects(c, module) for c in config]
        if isinstance(config, dict) and not ("class_name" in config and "config" in config):
            return {k: objects(v, module) for k, v in config.items()}
        return deserialize_keras_object(config, custom_objects, safe_mode, module_objects=vars(module))

    model.compile(optimizer=optimizer, loss=objects(training.get("loss"), losses),
                  metrics=objects(training.get("metrics"), metrics),
                  weighted_metrics=objects(training.get("weighted_metrics"), metrics),
                  loss_weights=training.get("loss_weights"))


def load_model(path: str, custom_objects=None, compile: bool = True, safe_mode: bool = True):
    """Reads a legacy `.h5` model: architecture, weights, and (when `compile`) compile config and optimizer state."""
    try:
        handle = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"{path} is not a readable HDF5 file (truncated or corrupt?): {e}") from None
    with handle as f:
        config = _attribute_json(f, "model_config", path)
        if config is None:
            raise ValueError(f"No model config found in {path}: it holds weights only; build the model in code and "
                             "call `model.load_weights(...)`")
        model = saving_lib.model_from_config(config, path, custom_objects, compile=False, safe_mode=safe_mode,
                                             weight_bytes=os.path.getsize(path))
        if "model_weights" not in f:
            raise ValueError(f"{path} has a model config but no 'model_weights' group")
        weights_io.load_from_h5(f["model_weights"], model, path)
        training = _attribute_json(f, "training_config", path) if compile else None
        optimizer_values = None
        if training is not None and "optimizer_weights" in f:
            group = f["optimizer_weights"]
            optimizer_values = [np.asarray(group[n][()]) for n in weights_io._attribute_list(group, "weight_names")]
    if training is None:
        if compile:
            warnings.warn(f"No training configuration found in {path}, so the model was *not* compiled. "
                          "Compile it manually.", stacklevel=2)
        return model
    with CustomObjectScope(custom_objects), SafeModeScope(safe_mode):
        _compile_from_training_config(model, training, custom_objects, safe_mode)
    if optimizer_values:
        model.optimizer.load_own_variables({str(i): value for i, value in enumerate(optimizer_values)})
    return model
