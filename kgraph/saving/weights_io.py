"""Weights in Keras 3's HDF5 layout (`.weights.h5`, and `model.weights.h5` inside `.keras` files).

The file is the HDF5 store (`h5_store`) filled by a walk over the model (`walk`): each saveable object (the
model, each layer, the optimizer) writes its own variables with `save_own_variables` into the group
`<path>/vars`, named for the object, and reads them back with `load_own_variables` — Keras 3's protocol, so
custom layers that override those hooks save and load as in Keras.

Loading is all-or-nothing: when any object does not fit, every variable, the optimizer state and the random
state are put back as they were before the error is raised. `by_name=True` matches layers by their names instead
of their positions; `skip_mismatch=True` turns mismatches into warnings and leaves those layers alone. Legacy
Keras/tf.keras `.h5` weights (`layer_names`/`weight_names`) are read too.
"""

from __future__ import annotations

import io
import json
import os
import warnings
import zipfile
from typing import Any

import h5py
import numpy as np

from kgraph.saving import file_io
from kgraph.saving.h5_store import H5Store, read_dataset
from kgraph.saving.walk import saveables
import jax.numpy as jnp

KGRAPH_STATE_GROUP = "kgraph_training_state"
WEIGHTS_FILENAME = "model.weights.h5"


def _label(path: str, obj) -> str:
    return f"{type(obj).__name__} {getattr(obj, 'name', '')!r}" + (f" (at {path!r})" if path else "")


def _is_optimizer(obj) -> bool:
    return obj._obj_type() == "Optimizer"


# --- writing ---------------------------------------------------------------------------------------------------------
def write_weights(root: h5py.Group, model) -> None:
    """Writes the model's (and its compiled optimizer's) variables into `root` in Keras' layout: each saveable's
    `save_own_variables` fills the `vars` group at its path."""
    if not model.built:
        raise ValueError(f"Model {model.name!r} has not been built, so it has no weights to save yet; call it on data "
                         "or call `build()` first")
    store = H5Store(root)
    for path, obj in saveables(model):
        name = getattr(obj, "name", None)
        obj.save_own_variables(store.make(path, {"name": name} if isinstance(name, str) else None))
    _write_random_state(root, model)


def _seeded(model) -> list[tuple[str, Any]]:
    return [(path, obj) for path, obj in saveables(model) if isinstance(getattr(obj, "_seed_offset", None), int)]


def _write_random_state(root: h5py.Group, model) -> None:
    """kgraph's own addition, ignored by Keras: the training RNG key and each random layer's seed offset,
    so that `fit` after loading draws the same dropout masks as an uninterrupted run."""
    rng = getattr(model, "_rng_key", None) if getattr(model, "compiled", False) else None
    seeded = _seeded(model)
    if rng is None and not seeded:
        return
    group = root.create_group(KGRAPH_STATE_GROUP)
    if rng is not None:
        group.create_dataset("rng", data=np.asarray(rng))
    if seeded:
        group.create_dataset("seed_offsets", data=np.asarray([obj._seed_offset for _, obj in seeded], np.int64))
        group.attrs["seed_offset_paths"] = json.dumps([path for path, _ in seeded])


def weights_bytes(model) -> bytes:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        write_weights(f, model)
    return buffer.getvalue()


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Saves the model's weights (and optimizer state, when compiled) to a `.weights.h5` file, atomically."""
    path = os.fspath(filepath)
    if not path.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={path}")
    file_io.check_overwrite(path, overwrite)
    file_io.atomic_write(path, weights_bytes(model))


# --- reading ---------------------------------------------------------------------------------------------------------
class Loading:
    """One load into a model: problems are gathered, and unless skipped, the model is put back as it was."""

    def __init__(self, model, source: str):
        self.model, self.source = model, source
        self.problems: list[str] = []
        optimizer = getattr(model, "optimizer", None)
        self._values = [(v, v.value) for v in model.weights]
        self._optimizer = (optimizer, optimizer.state) if optimizer is not None else None
        self._rng = getattr(model, "_rng_key", None)
        self._seeds = [(obj, obj._seed_offset) for _, obj in _seeded(model)]

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def attempt(self, label: str, load, entry) -> bool:
        """Runs one `load_own_variables(entry)`; a mismatch becomes a problem naming `label`."""
        try:
            load(entry)
            return True
        except (ValueError, KeyError, TypeError) as e:
            message = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
            self.problem(f"{label}: {message}")
            return False

    def finish(self, skip_mismatch: bool) -> None:
        if self.problems and not skip_mismatch:
            self._restore()
            listed = "\n  - ".join(self.problems[:20])
            more = f"\n  … and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
            raise ValueError(f"Cannot load weights from {self.source}:\n  - {listed}{more}")
        for message in self.problems:
            warnings.warn(f"{self.source}: skipping: {message}", stacklevel=3)

    def _restore(self) -> None:
        for variable, value in self._values:
            variable.assign(value)
        if self._optimizer is not None:
            self._optimizer[0].state = self._optimizer[1]
        if self._rng is not None:
            self.model._rng_key = self._rng
        for obj, offset in self._seeds:
            obj._seed_offset = offset


def _is_optimizer_or_state(path: str) -> bool:
    return path.startswith(KGRAPH_STATE_GROUP) or "optimizer" in path.split("/")


def load_structural(root, model, source: str, skip_mismatch: bool = False, load_optimizer: bool = True) -> None:
    """Loads by Keras' paths: each saveable's `load_own_variables` reads the `vars` group at its path. A layer
    whose group does not fit takes a sibling group saved under its name, if one fits."""
    if "layers" not in root and "vars" not in root:
        raise ValueError(f"{source} does not have Keras 3's weights layout (no 'layers' or 'vars' group at the "
                         f"root; it has {sorted(root.keys())[:10]})")
    store = H5Store(root)
    loading = Loading(model, source)
    consumed: set[str] = set()
    for path, obj in saveables(model):
        if _is_optimizer(obj):
            consumed.add(path)
            if load_optimizer and getattr(model, "compiled", False):
                loading.attempt(f"optimizer {obj.name!r}", obj.load_own_variables, store.get(path))
            continue
        entry = store.get(path)
        label = _label(path, obj)
        problems = len(loading.problems)
        if loading.attempt(label, obj.load_own_variables, entry):
            consumed.add(path)
            continue
        sibling = _sibling_by_name(store, path, getattr(obj, "name", None), consumed)
        if sibling is not None:
            del loading.problems[problems:]
            if loading.attempt(label, obj.load_own_variables, sibling):
                consumed.add(sibling.path)
                continue
        if not entry.found:
            del loading.problems[problems:]
            loading.problem(f"{label} has variables but the file has no group '{path + '/' if path else ''}vars' "
                            "for it")
        consumed.add(path)
    for path, entry in store.saved_paths().items():
        if path not in consumed and not _is_optimizer_or_state(path):
            loading.problem(f"the file has {len(entry)} weights at {path!r} (saved by layer {entry.saved_name!r}), "
                            "which no layer of the model takes")
    _load_random_state(root, model, restore_rng=load_optimizer)
    loading.finish(skip_mismatch)


def _sibling_by_name(store: H5Store, path: str, name, consumed: set):
    """The `vars` entry of a sibling path saved under the layer name `name` (not yet taken), or None."""
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    container = store.root.get(parent) if parent else store.root
    if not isinstance(container, h5py.Group) or name is None:
        return None
    for key in container.keys():
        candidate = f"{parent}/{key}" if parent else key
        if candidate != path and candidate not in consumed:
            entry = store.get(candidate)
            if entry.found and len(entry) and entry.saved_name == name:
                return entry
    return None


def _load_random_state(root, model, restore_rng: bool) -> None:
    group = root.get(KGRAPH_STATE_GROUP)
    if not isinstance(group, h5py.Group):
        return
    if restore_rng and "rng" in group and getattr(model, "compiled", False):
        key = np.asarray(group["rng"][()])
        if key.shape == (2,) and key.dtype == np.uint32:
            model._rng_key = jnp.asarray(key)
    if "seed_offsets" in group:
        try:
            paths = json.loads(group.attrs.get("seed_offset_paths", "[]"))
            offsets = dict(zip(paths, np.asarray(group["seed_offsets"][()]).tolist()))
        except (TypeError, ValueError):
            return
        for path, obj in _seeded(model):
            if isinstance(offsets.get(path), int):
                obj._seed_offset = offsets[path]


def load_by_name(root, model, source: str, skip_mismatch: bool = False) -> None:
    """Loads each layer (at any depth) from the group saved under its name; layers the file lacks are left alone."""
    store = H5Store(root)
    saved: dict[str, list] = {}
    for path, entry in store.saved_paths().items():
        if not _is_optimizer_or_state(path) and entry.saved_name is not None:
            saved.setdefault(entry.saved_name, []).append(entry)
    loading = Loading(model, source)
    used: set[str] = set()
    for layer in model._flatten_layers(include_self=True):
        candidates = [entry for entry in saved.get(layer.name, []) if entry.path not in used]
        if not (layer._trainable_variables or layer._non_trainable_variables) or not candidates:
            continue
        used.add(candidates[0].path)
        loading.attempt(f"{type(layer).__name__} {layer.name!r}", layer.load_own_variables, candidates[0])
    loading.finish(skip_mismatch)


# --- legacy Keras 2 / tf.keras `.h5` weights ------------------------------------------------------------------
def _attribute_list(group, name: str) -> list[str]:
    if name in group.attrs:
        values = list(group.attrs[name])
    else:
        values, chunk = [], 0
        while f"{name}{chunk}" in group.attrs:
            values += list(group.attrs[f"{name}{chunk}"])
            chunk += 1
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def _legacy_weights(layer) -> list:
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _legacy_values(group) -> list:
    datasets = [group[name] for name in _attribute_list(group, "weight_names")]
    for d in datasets:
        if not isinstance(d, h5py.Dataset):
            raise ValueError(f"expected a dataset at {d.name}, found a group")
    return datasets


def load_legacy(root, model, source: str, by_name: bool = False, skip_mismatch: bool = False) -> None:
    """Keras' legacy h5 weights (a `layer_names` attribute; one group per layer with `weight_names`)."""
    loading = Loading(model, source)
    layers = list(model._saved_layers)
    names = _attribute_list(root, "layer_names")
    if by_name:
        index: dict[str, list] = {}
        for layer in layers:
            index.setdefault(layer.name, []).append(layer)
        for name in names:
            values = _legacy_values(root[name])
            for layer in index.get(name, []):
                loading.attempt(f"{type(layer).__name__} {layer.name!r}", _legacy_loader(layer), values)
    else:
        with_weights = [layer for layer in layers if _legacy_weights(layer)]
        saved = [name for name in names if _attribute_list(root[name], "weight_names")]
        if len(saved) != len(with_weights):
            raise ValueError(f"Cannot load weights from {source}: the model has {len(with_weights)} layers with "
                             f"weights, the file has {len(saved)} ({saved[:10]})")
        for layer, name in zip(with_weights, saved):
            loading.attempt(f"{type(layer).__name__} {layer.name!r}", _legacy_loader(layer), _legacy_values(root[name]))
    loading.finish(skip_mismatch)


def _legacy_loader(layer):
    """Assigns a legacy group's datasets to all of `layer`'s weights (its sublayers' too), checked first."""
    def load(datasets: list) -> None:
        variables = _legacy_weights(layer)
        if len(datasets) != len(variables):
            raise ValueError(f"the layer has {len(variables)} variables {[v.name for v in variables]}, the file has "
                             f"{len(datasets)} for it")
        for d, v in zip(datasets, variables):
            if tuple(d.shape) != tuple(v.shape):
                raise ValueError(f"variable {v.name!r} ({v.path}) expects shape {tuple(v.shape)}, the file has "
                                 f"shape {tuple(d.shape)}")
        for d, v in zip([read_dataset(d) for d in datasets], variables):
            v.assign(d)

    return load


# --- entry points ------------------------------------------------------------------------------------------------
def load_from_h5(root, model, source: str, skip_mismatch: bool = False, by_name: bool = False,
                 load_optimizer: bool = True) -> None:
    """Loads an open weights file in any of the layouts kgraph reads into `model` (all or nothing, unless
    `skip_mismatch`)."""
    if "model_weights" in root and isinstance(root["model_weights"], h5py.Group):
        root = root["model_weights"]
    if "layer_names" in root.attrs or "layer_names0" in root.attrs:
        return load_legacy(root, model, source, by_name, skip_mismatch)
    if by_name:
        if "layers" not in root and "vars" not in root:
            raise ValueError(f"{source} does not have a Keras weights layout (no 'layers' or 'vars' group, no "
                             "'layer_names' attribute)")
        return load_by_name(root, model, source, skip_mismatch)
    return load_structural(root, model, source, skip_mismatch, load_optimizer)


def _open_h5(data_or_path, source: str) -> h5py.File:
    try:
        return h5py.File(data_or_path, "r")
    except OSError as e:
        raise ValueError(f"{source} is not a readable HDF5 weights file (truncated or corrupt?): {e}") from None


def load_weights(model, filepath, skip_mismatch: bool = False, by_name: bool = False) -> None:
    """Loads weights saved by `save_weights`, `save` (a `.keras` file) or Keras (also legacy `.h5`) into `model`.

    Args:
        filepath: a `.weights.h5`, `.keras` or legacy `.h5` file.
        skip_mismatch: warn about and skip layers whose weights do not fit, instead of raising.
        by_name: match layers by name rather than by position, for a model that shares only some layers.
    """
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such weights file: {path}")
    if path.endswith(".keras") or zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                file_io.check_member_names(archive, path)
                data = file_io.read_member(archive, WEIGHTS_FILENAME, path)
        except zipfile.BadZipFile as e:
            raise ValueError(f"{path} is not a valid .keras archive (truncated or corrupt): {e}") from None
        source = f"{path} ({WEIGHTS_FILENAME})"
        handle = _open_h5(io.BytesIO(data), source)
    else:
        source = path
        handle = _open_h5(path, source)
    with handle as root:
        load_from_h5(root, model, source, skip_mismatch, by_name)
