"""KerasFileEditor: inspect, compare and edit the weights of a `.keras` or `.weights.h5` file, as Keras 3's."""

from __future__ import annotations

import io
import json
import math
import os
import zipfile

import h5py
import numpy as np

from kgraph.saving import file_io, weights_io
from kgraph.saving.h5_store import H5Store
from kgraph.saving.saving_lib import CONFIG_FILENAME, METADATA_FILENAME, WEIGHTS_FILENAME

_MAX_BYTES = 1 << 32  # a dataset larger than 4 GiB is refused, as Keras refuses it


def _weights_tree(group: h5py.Group, metadata: dict, inner_path: str = "") -> dict:
    """`{name: subtree or array}` of an HDF5 weights group, `vars` groups folded into their object."""
    if group.attrs:
        metadata[inner_path] = dict(group.attrs.items())
    result: dict = {}
    for key in group.keys():
        path = f"{inner_path}/{key}"
        link = group.get(key, default=None, getclass=True, getlink=True)
        if link in (h5py.ExternalLink, h5py.SoftLink):
            raise ValueError(f"Not allowed: H5 file with {link.__name__} at {path}")
        value = group[key]
        if isinstance(value, h5py.Group):
            if len(value) == 0:
                continue
            if "vars" in value.keys():
                if len(value["vars"]) == 0:
                    continue
                value = value["vars"]
            result[key] = _weights_tree(value, metadata, path)
            continue
        if not isinstance(value, h5py.Dataset):
            continue
        if value.external or value.is_virtual:
            raise ValueError(f"Not allowed: H5 file Dataset with external or virtual storage at {path}")
        if len(value.shape) > 64 or math.prod(value.shape) * value.dtype.itemsize > _MAX_BYTES:
            raise ValueError(f"HDF5 dataset at {path} is too large or malformed to load safely (shape {value.shape})")
        result[key] = value[()]
    return result


def _read_tree(data: bytes | str) -> tuple[dict, dict]:
    metadata: dict = {}
    with h5py.File(io.BytesIO(data) if isinstance(data, bytes) else data, "r") as f:
        return _weights_tree(f, metadata), metadata


class KerasFileEditor:
    """Inspects, edits and resaves the weights of a Keras (or kgraph) model file, e.g. to adapt an old file to a
    changed architecture.

    Args:
        filepath: A `.keras` or `.weights.h5` file.
    """

    def __init__(self, filepath):
        self.filepath = os.fspath(filepath)
        self.config = self.metadata = None
        if self.filepath.endswith(".keras"):
            with zipfile.ZipFile(self.filepath, "r") as archive:
                self.config = json.loads(archive.read(CONFIG_FILENAME))
                self.metadata = json.loads(archive.read(METADATA_FILENAME))
                data = archive.read(WEIGHTS_FILENAME)
        elif self.filepath.endswith(".weights.h5"):
            data = self.filepath
        else:
            raise ValueError(f"Invalid filename: expected a `.keras` `.weights.h5` extension. "
                             f"Received: filepath={self.filepath}")
        self.weights_dict, self.object_metadata = _read_tree(data)
        print(f"Keras model file '{self.filepath}'")
        if self.metadata is not None:
            print(f"Saved with Keras {self.metadata.get('keras_version')} - date: {self.metadata.get('date_saved')}")

    def summary(self) -> None:
        """Prints the weight structure of the file."""
        print("Weights structure")
        self._print_tree(self.weights_dict, "  ", "")

    def _print_tree(self, tree: dict, prefix: str, inner_path: str) -> None:
        for i, (key, value) in enumerate(tree.items()):
            path = f"{inner_path}/{key}"
            last = i == len(tree) - 1
            connector = "└─ " if last else "├─ "
            if isinstance(value, dict):
                name = self.object_metadata.get(path, {}).get("name")
                print(f"{prefix}{connector}{key}" + (f" ('{name}')" if name else ""))
                self._print_tree(value, prefix + ("    " if last else "│   "), path)
            else:
                print(f"{prefix}{connector}{key}: shape={value.shape}, dtype={value.dtype}")

    def compare(self, reference_model) -> dict:
        """Lists the mismatches between the file and `reference_model`'s weights (missing objects or weights,
        shapes); returns `{"status": "success" | "error", "error_count": ..., "match_count": ...}`."""
        reference, _ = _read_tree(weights_io.weights_bytes(reference_model))
        checked: set[str] = set()

        def compare(target: dict, ref: dict, inner_path: str, target_name: str, ref_name: str) -> tuple[int, int]:
            errors = matches = 0
            for key, value in ref.items():
                path = f"{inner_path}/{key}"
                if path in checked:
                    continue
                if key not in target:
                    errors += 1
                    checked.add(path)
                    kind = "Object" if isinstance(value, dict) else "Weight"
                    print(f"...{kind} {path} present in {ref_name}, missing from {target_name}")
                elif isinstance(value, dict):
                    e, m = compare(target[key], value, path, target_name, ref_name)
                    errors, matches = errors + e, matches + m
                elif target[key].shape != value.shape:
                    errors += 1
                    checked.add(path)
                    print(f"...Weight shape mismatch for {path}\n    In {ref_name}: shape={value.shape}\n"
                          f"    In {target_name}: shape={target[key].shape}")
                else:
                    matches += 1
            return errors, matches

        errors, matches = compare(self.weights_dict, reference, "", "saved file", "reference model")
        errors += compare(reference, self.weights_dict, "", "reference model", "saved file")[0]
        if errors == 0:
            print(f"Comparison successful: saved file is compatible with the reference model\n"
                  f"    Found {matches} matching weight{'' if matches == 1 else 's'}")
        else:
            print(f"Found {errors} error{'' if errors == 1 else 's'}: saved file is not compatible with the "
                  "reference model")
        return {"status": "success" if errors == 0 else "error", "error_count": errors, "match_count": matches}

    def _edit_object(self, edit_fn, source_name: str, target_name: str | None = None) -> None:
        if target_name is not None and "/" in target_name:
            raise ValueError(f"Argument `target_name` should be a leaf name, not a full path name. "
                             f"Received: target_name='{target_name}'")
        if "/" in source_name:
            tree = self.weights_dict
            *parents, leaf = source_name.split("/")
            for element in parents:
                if element not in tree:
                    raise ValueError(f"Path '{source_name}' not found in model.")
                tree = tree[element]
            if leaf not in tree:
                raise ValueError(f"Path '{source_name}' not found in model.")
            edit_fn(tree, leaf, target_name)
            return
        holders = []

        def find(tree: dict) -> None:
            for value in tree.values():
                if isinstance(value, dict):
                    find(value)
            if source_name in tree:
                holders.append(tree)

        find(self.weights_dict)
        if len(holders) > 1:
            raise ValueError(f"Name '{source_name}' occurs more than once in the model; try passing a complete path")
        if not holders:
            raise ValueError(f"Source name '{source_name}' does not appear in the model. Use `editor.summary()` "
                             "to list all objects.")
        edit_fn(holders[0], source_name, target_name)

    def rename_object(self, object_name: str, new_name: str) -> None:
        """Renames an object (e.g. `"dense_2"` or `"layers/dense_2"`)."""
        def rename(tree, source, target):
            tree[target] = tree.pop(source)

        self._edit_object(rename, object_name, new_name)

    def delete_object(self, object_name: str) -> None:
        """Removes an object (e.g. a layer) and its weights."""
        self._edit_object(lambda tree, source, _: tree.pop(source), object_name)

    def add_object(self, object_path: str, weights: dict) -> None:
        """Adds an object at `object_path` (e.g. `"layers/dense_2"`) with `weights` (`{"0": kernel, "1": bias}`)."""
        _check_weights(weights)
        tree = self.weights_dict
        *parents, leaf = object_path.split("/")
        for element in parents:
            if element not in tree:
                raise ValueError(f"Path '{'/'.join(parents)}' not found in model.")
            tree = tree[element]
        tree[leaf] = {key: np.asarray(value) for key, value in weights.items()}

    def delete_weight(self, object_name: str, weight_name: str) -> None:
        """Removes the weight `weight_name` (e.g. `"0"`) of an object."""
        def delete(tree, source, _):
            if weight_name not in tree[source]:
                raise ValueError(f"Weight {weight_name} not found in object {object_name}. "
                                 f"Weights found: {list(tree[source].keys())}")
            tree[source].pop(weight_name)

        self._edit_object(delete, object_name)

    def add_weights(self, object_name: str, weights: dict) -> None:
        """Adds `weights` (`{"2": array}`) to an existing object."""
        _check_weights(weights)
        self._edit_object(lambda tree, source, _: tree[source].update(
            {key: np.asarray(value) for key, value in weights.items()}), object_name)

    def save(self, filepath) -> None:
        """Writes the edited weights to a `.weights.h5` file (atomically)."""
        filepath = os.fspath(filepath)
        if not filepath.endswith(".weights.h5"):
            raise ValueError(f"Invalid `filepath` argument: expected a `.weights.h5` extension. "
                             f"Received: filepath={filepath}")

        def write(tree: dict, store: H5Store, inner_path: str) -> None:
            arrays = {}
            for name, value in tree.items():
                if isinstance(value, dict):
                    if value:
                        write(value, store, f"{inner_path}/{name}" if inner_path else name)
                else:
                    arrays[name] = value
            if arrays:
                entry = store.make(inner_path)
                for name, value in arrays.items():
                    entry[name] = value

        def content(f) -> None:
            with h5py.File(f, "w") as h5:
                write(self.weights_dict, H5Store(h5), "")

        file_io.atomic_write(filepath, content)

    def resave_weights(self, filepath) -> None:
        """Same as `save`."""
        self.save(filepath)


def _check_weights(weights) -> None:
    if not isinstance(weights, dict):
        raise ValueError("Argument `weights` should be a dict where keys are weight names (usually '0', '1', etc.) "
                         f"and values are NumPy arrays. Received: type(weights)={type(weights)}")
