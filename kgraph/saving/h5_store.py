"""The HDF5 store of Keras 3's weights layout: one `<path>/vars` group per saveable object.

`make(path, metadata)` gives the dict-like entry an object's `save_own_variables` writes into ("0", "1", …,
the group's `name` attribute from `metadata`); `get(path)` the entry its `load_own_variables` reads from (empty
when the file has no group there). Reads refuse non-numeric datasets and restore bfloat16 as Keras marks it.
"""

from __future__ import annotations

import h5py
import numpy as np

from kgraph.ir.types import numpy_dtype
from kgraph.saving import file_io


def read_dataset(dataset) -> np.ndarray:
    """A numeric dataset's values (bfloat16 as Keras marks it); other dtypes are refused, never decoded."""
    if not isinstance(dataset, h5py.Dataset):
        raise ValueError(f"expected a dataset at {dataset.name}, found a group")
    if dataset.dtype.kind not in "biuf" and dataset.attrs.get("dtype") != "bfloat16":
        raise ValueError(f"the dataset {dataset.name} has dtype {dataset.dtype}, not a numeric one")
    stored = dataset.id.get_storage_size()
    if dataset.nbytes > file_io.INFLATION_FLOOR_BYTES and dataset.nbytes > file_io.MAX_COMPRESSION_RATIO * max(stored, 1):
        raise ValueError(f"the dataset {dataset.name} declares shape {dataset.shape} ({dataset.nbytes:,} bytes) but "
                         f"stores {stored:,} bytes; refusing to inflate it (a corrupt or hostile file)")
    value = np.asarray(dataset[()])
    if dataset.attrs.get("dtype") == "bfloat16":
        bfloat16 = numpy_dtype("bfloat16")
        value = value.view(bfloat16) if value.dtype.itemsize == 2 else value.astype(bfloat16)
    return value


def write_dataset(group, key: str, value) -> None:
    array = np.asarray(value)
    dataset = group.create_dataset(key, data=array)
    if str(array.dtype) == "bfloat16":
        dataset.attrs["dtype"] = "bfloat16"


class WriteEntry:
    """The `vars` group of one object, created on the first write (or at once, to hold `metadata`)."""

    def __init__(self, root: h5py.Group, path: str, metadata: dict | None):
        self._root, self._path, self._group = root, path, None
        if metadata:
            for key, value in metadata.items():
                self._vars().attrs[key] = value

    def _vars(self) -> h5py.Group:
        if self._group is None:
            self._group = self._root.require_group(f"{self._path}/vars" if self._path else "vars")
        return self._group

    def __setitem__(self, key: str, value) -> None:
        write_dataset(self._vars(), str(key), value)

    def keys(self):
        return [] if self._group is None else list(self._group.keys())

    def __len__(self) -> int:
        return len(self.keys())


class ReadEntry:
    """The `vars` group saved at one path (or nothing); items are read and checked when asked for."""

    def __init__(self, group: h5py.Group | None, path: str):
        self.group, self.path = group, path

    @property
    def found(self) -> bool:
        return self.group is not None

    @property
    def saved_name(self) -> str | None:
        name = None if self.group is None else self.group.attrs.get("name")
        return name.decode("utf-8") if isinstance(name, bytes) else (None if name is None else str(name))

    def keys(self) -> list[str]:
        return [] if self.group is None else list(self.group.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, key) -> bool:
        return str(key) in self.keys()

    def __getitem__(self, key) -> np.ndarray:
        if str(key) not in self.keys():
            where = f"the group {self.group.name}" if self.group is not None else f"the file at {self.path!r}"
            raise ValueError(f"{where} has no dataset {str(key)!r} (it holds {self.keys()})")
        return read_dataset(self.group[str(key)])


class H5Store:
    """Keras' `H5IOStore` over an open HDF5 file or group."""

    def __init__(self, root: h5py.Group):
        self.root = root

    def make(self, path: str, metadata: dict | None = None) -> WriteEntry:
        return WriteEntry(self.root, path, metadata)

    def get(self, path: str) -> ReadEntry:
        node = self.root.get(f"{path}/vars" if path else "vars")
        if not isinstance(node, h5py.Group) and "_layer_checkpoint_dependencies" in self.root:
            node = self.root.get(f"{path.replace('layers', '_layer_checkpoint_dependencies')}/vars")
        return ReadEntry(node if isinstance(node, h5py.Group) else None, path)

    def saved_paths(self) -> dict[str, ReadEntry]:
        """path -> entry, for every `vars` group in the file that holds datasets."""
        found = {}

        def visit(name, obj):
            if isinstance(obj, h5py.Group) and name.split("/")[-1] == "vars" and len(obj):
                path = name[: -len("/vars")] if name != "vars" else ""
                found[path] = ReadEntry(obj, path)

        self.root.visititems(visit)
        return found
