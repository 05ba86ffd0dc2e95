"""`.keras` files: a zip of `metadata.json`, `config.json` (architecture and compile config),
`model.weights.h5` (weights and optimizer state) and `assets/` (files layers write with `save_assets`, e.g. a
vocabulary), the format Keras 3 writes and reads.

Writes are atomic (temp file, fsync, rename). Loading never unpickles or imports outside kgraph, refuses
archive members with absolute or `..` paths, bounds the config it parses, and reports a bad file as a
ValueError naming the file and what is wrong with it.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import tempfile
import zipfile

import h5py

from kgraph import allocation
from kgraph.saving import file_io, weights_io
from kgraph.saving.walk import is_saveable, saveables
from kgraph.saving.object_registration import CustomObjectScope, SafeModeScope
from kgraph.saving.serialization import UnknownObjectError, deserialize_keras_object, object_sharing_scope, \
    serialize_keras_object
import numpy as np
from kgraph.version import __version__
from kgraph.saving import legacy_h5

ASSETS_DIRNAME = "assets"
CONFIG_FILENAME = "config.json"
METADATA_FILENAME = "metadata.json"
WEIGHTS_FILENAME = weights_io.WEIGHTS_FILENAME
FORMAT_VERSION = 1  # of kgraph's own additions to the format; a file with a larger one needs a newer kgraph
PRODUCER = "kgraph"
SUPPORTED_KERAS_MAJOR = 3


def _json_default(obj):
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"Cannot write {obj!r} of type {type(obj).__name__} into a JSON config")


def model_config_json(model) -> str:
    """The `config.json` text: the serialized model, with its compile config when compiled."""
    with object_sharing_scope():
        config = serialize_keras_object(model)
    return json.dumps(config, default=_json_default)


def metadata_json() -> str:
    return json.dumps({"keras_version": __version__, "producer": PRODUCER, "kgraph_version": __version__,
                       "format_version": FORMAT_VERSION,
                       "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})


def save_model(model, filepath, overwrite: bool = True, zipped: bool | None = None) -> None:
    """Saves architecture, compile config, weights and optimizer state as a `.keras` file.

    Args:
        filepath: ends in `.keras` (or `.h5` for the legacy HDF5 format).
        overwrite: replace an existing file; otherwise a FileExistsError.
        zipped: False writes the three members into a folder `filepath` instead of a zip.
    """
    path = os.fspath(filepath)
    if path.endswith((".h5", ".hdf5")) and not path.endswith(".weights.h5"):
        file_io.check_overwrite(path, overwrite)
        legacy_h5.save_model(model, path)
        return
    if zipped is None:
        zipped = True
    if zipped and not path.endswith(".keras"):
        raise ValueError("Invalid filepath extension for saving. Please add either a `.keras` extension for the "
                         f"native Keras format (recommended) or a `.h5` extension. Received: filepath={path}")
    file_io.check_overwrite(path, overwrite)
    if not model.built:
        raise ValueError(f"Model {model.name!r} has not been built, so it cannot be saved yet; call it on data, "
                         "give it an Input, or call `build()` first")
    members = {METADATA_FILENAME: metadata_json().encode("utf-8"),
               CONFIG_FILENAME: model_config_json(model).encode("utf-8"),
               WEIGHTS_FILENAME: weights_io.weights_bytes(model), **asset_files(model)}
    if not zipped:
        file_io.write_directory_atomic(path, members)
        return
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    file_io.write_bytes_atomic(path, buffer.getvalue())


def asset_files(model) -> dict[str, bytes]:
    """`assets/<path>/…` -> bytes: what each object's `save_assets(folder)` wrote (Keras' asset store)."""
    with tempfile.TemporaryDirectory(prefix="kgraph-assets-") as root:
        for path, obj in saveables(model):
            if callable(getattr(obj, "save_assets", None)):
                folder = os.path.join(root, path) if path else root
                os.makedirs(folder, exist_ok=True)
                obj.save_assets(folder)
        files = {}
        for folder, _, names in os.walk(root):
            for name in names:
                full = os.path.join(folder, name)
                relative = os.path.relpath(full, root).replace(os.sep, "/")
                with open(full, "rb") as f:
                    files[f"{ASSETS_DIRNAME}/{relative}"] = f.read()
        return files


def load_assets(model, assets_root: str | None) -> None:
    """Hands each object with `load_assets` its folder under `assets_root` (None when the file has none)."""
    for path, obj in saveables(model):
        if callable(getattr(obj, "load_assets", None)):
            folder = (os.path.join(assets_root, path) if path else assets_root) if assets_root else None
            obj.load_assets(folder if folder is not None and os.path.isdir(folder) else None)


def _extract_assets(archive: zipfile.ZipFile, target: str) -> str | None:
    """Extracts the archive's `assets/` members (names already checked) into `target`; None when there are none."""
    members = [name for name in archive.namelist() if name.startswith(f"{ASSETS_DIRNAME}/") and not name.endswith("/")]
    for name in members:
        destination = os.path.join(target, *name.split("/"))
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        with open(destination, "wb") as f:
            f.write(file_io.read_member(archive, name, archive.filename or "the archive"))
    return os.path.join(target, ASSETS_DIRNAME) if members else None


def _check_metadata(raw: bytes | None, source: str) -> dict:
    if raw is None:
        return {}
    try:
        metadata = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{source}: {METADATA_FILENAME} is not valid JSON: {e}") from None
    if not isinstance(metadata, dict):
        raise ValueError(f"{source}: {METADATA_FILENAME} must hold a JSON object")
    version = metadata.get("format_version")
    if metadata.get("producer") == PRODUCER or version is not None:
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(f"{source} was written in kgraph format version {version!r} (by kgraph "
                             f"{metadata.get('kgraph_version')}); this kgraph reads versions up to {FORMAT_VERSION}. "
                             "Upgrade kgraph to load it.")
    else:
        keras_version = str(metadata.get("keras_version", ""))
        major = keras_version.split(".")[0]
        if major.isdigit() and int(major) > SUPPORTED_KERAS_MAJOR:
            raise ValueError(f"{source} was written by Keras {keras_version}, a format newer than the Keras "
                             f"{SUPPORTED_KERAS_MAJOR} format kgraph reads")
    return metadata


def _parse_config(raw: bytes, source: str) -> dict:
    if len(raw) > file_io.MAX_CONFIG_BYTES:
        raise ValueError(f"{source}: the config is {len(raw)} bytes, over the {file_io.MAX_CONFIG_BYTES}-byte limit")
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{source}: {CONFIG_FILENAME} is not valid JSON: {e}") from None
    except RecursionError:
        raise ValueError(f"{source}: {CONFIG_FILENAME} is nested too deeply to be a model config") from None
    if not isinstance(config, dict):
        raise ValueError(f"{source}: {CONFIG_FILENAME} must hold a JSON object describing the model")
    return config


def model_from_config(config: dict, source: str, custom_objects=None, compile: bool = True,
                      safe_mode: bool | None = True, weight_bytes: int | None = None):
    """Builds the model a parsed config describes; unknown classes and bad configs name `source`.

    `weight_bytes`, the size of the weights stored with the config, bounds every weight the config declares.
    """
    config = dict(config)
    if not compile:
        config.pop("compile_config", None)
    bound = allocation.weights_bounded_by(weight_bytes, source) if weight_bytes is not None else contextlib.nullcontext()
    try:
        with CustomObjectScope(custom_objects), SafeModeScope(safe_mode), object_sharing_scope(), bound:
            model = deserialize_keras_object(config, custom_objects=custom_objects, safe_mode=safe_mode)
    except UnknownObjectError as e:
        raise ValueError(f"Cannot load {source}: {e}") from None
    except RecursionError:
        raise ValueError(f"Cannot load {source}: its config is nested too deeply") from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        kind = type(e) if type(e) in (ValueError, TypeError) else ValueError
        raise kind(f"Cannot load {source}: {type(e).__name__ + ': ' if kind is not type(e) else ''}{e}") from e
    if not is_saveable(model) or model._obj_type() == "Optimizer":
        raise ValueError(f"Cannot load {source}: its config describes a {type(model).__name__}, not a model")
    return model


def load_model(filepath, custom_objects: dict | None = None, compile: bool = True, safe_mode: bool = True):
    """Loads a model saved by `model.save` (or by Keras): a `.keras` zip, an unzipped folder, or a legacy `.h5`.

    Args:
        filepath: the file (or folder) to read.
        custom_objects: name -> custom class or function the config refers to.
        compile: compile the model with the saved compile config and restore the optimizer state.
        safe_mode: refuse Python bytecode (lambdas) in the config; pass False only for files you trust.

    Returns:
        The model, compiled (with its optimizer state) when the file holds a compile config and `compile` is True.
    """
    path = os.fspath(filepath)
    if os.path.isdir(path):
        return _load_folder(path, custom_objects, compile, safe_mode)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path}")
    if not zipfile.is_zipfile(path) and h5py.is_hdf5(path):
        return legacy_h5.load_model(path, custom_objects, compile, safe_mode)
    with tempfile.TemporaryDirectory(prefix="kgraph-assets-") as extracted:
        try:
            with zipfile.ZipFile(path, "r") as archive:
                file_io.check_member_names(archive, path)
                names = set(archive.namelist())
                metadata = file_io.read_member(archive, METADATA_FILENAME, path, file_io.MAX_METADATA_BYTES) \
                    if METADATA_FILENAME in names else None
                raw_config = file_io.read_member(archive, CONFIG_FILENAME, path, file_io.MAX_CONFIG_BYTES)
                if WEIGHTS_FILENAME not in names:
                    raise ValueError(f"{path}: the archive has no {WEIGHTS_FILENAME} (members: {sorted(names)})")
                _check_metadata(metadata, path)
                config = _parse_config(raw_config, path)
                weights = file_io.read_member(archive, WEIGHTS_FILENAME, path)
                assets = _extract_assets(archive, extracted)
        except zipfile.BadZipFile as e:
            raise ValueError(f"{path} is not a valid .keras file (a truncated or corrupt zip archive): {e}") from None
        with _open_weights(weights, f"{path} ({WEIGHTS_FILENAME})") as root:
            model = model_from_config(config, path, custom_objects, compile, safe_mode, weight_bytes=len(weights))
            weights_io.load_structural(root, model, f"{path} ({WEIGHTS_FILENAME})", load_optimizer=compile)
        load_assets(model, assets)
    return model


def _load_folder(path: str, custom_objects, compile: bool, safe_mode: bool):
    def read(name: str, limit: int | None) -> bytes:
        full = os.path.join(path, name)
        if not os.path.isfile(full):
            raise ValueError(f"{path}: the saved-model folder has no {name}")
        if limit is not None and os.path.getsize(full) > limit:
            raise ValueError(f"{full} is over the {limit}-byte limit")
        with open(full, "rb") as f:
            return f.read()

    metadata = read(METADATA_FILENAME, file_io.MAX_METADATA_BYTES) \
        if os.path.exists(os.path.join(path, METADATA_FILENAME)) else None
    _check_metadata(metadata, path)
    config = _parse_config(read(CONFIG_FILENAME, file_io.MAX_CONFIG_BYTES), path)
    weights = read(WEIGHTS_FILENAME, None)
    with _open_weights(weights, os.path.join(path, WEIGHTS_FILENAME)) as root:
        model = model_from_config(config, path, custom_objects, compile, safe_mode, weight_bytes=len(weights))
        weights_io.load_structural(root, model, os.path.join(path, WEIGHTS_FILENAME), load_optimizer=compile)
    assets = os.path.join(path, ASSETS_DIRNAME)
    load_assets(model, assets if os.path.isdir(assets) else None)
    return model


def _open_weights(data: bytes, source: str) -> h5py.File:
    """The weights file, opened before the model is built so that a file that is not HDF5 is named as such."""
    try:
        return h5py.File(io.BytesIO(data), "r")
    except OSError as e:
        raise ValueError(f"{source} is not a readable HDF5 file (truncated or corrupt?): {e}") from None
