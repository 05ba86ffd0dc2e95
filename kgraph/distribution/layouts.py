"""How one tensor is split over a mesh (`TensorLayout`), and which weights get which layout (`LayoutMap`)."""

from __future__ import annotations

import collections.abc
import re

import jax

from kgraph.distribution.device_mesh import DeviceMesh


class TensorLayout:
    """One mesh axis name (or None: not split) per tensor dimension; a `jax.sharding.NamedSharding`.

    Args:
        axes: e.g. `(None, "model")` splits a kernel's output dimension over the "model" axis.
        device_mesh: the mesh the names refer to; a `LayoutMap` fills it in when left None.
    """

    def __init__(self, axes, device_mesh: DeviceMesh | None = None):
        if isinstance(axes, str) or not isinstance(axes, collections.abc.Iterable):
            raise TypeError(f"`axes` must be a tuple of mesh axis names or None, got {axes!r}")
        self._axes = tuple(axes)
        for a in self._axes:
            if a is not None and not isinstance(a, str) and not (isinstance(a, tuple) and all(isinstance(n, str) for n in a)):
                raise TypeError(f"`axes` entries must be mesh axis names, tuples of them, or None; got {a!r} in {self._axes}")
        self._device_mesh = None
        if device_mesh is not None:
            self.device_mesh = device_mesh

    @property
    def axes(self) -> tuple:
        return self._axes

    @property
    def device_mesh(self) -> DeviceMesh | None:
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, mesh: DeviceMesh) -> None:
        if self._device_mesh is not None and self._device_mesh is not mesh:
            raise ValueError(f"This layout already has the device mesh {self._device_mesh}; it cannot be replaced")
        unknown = sorted(n for a in self._axes if a is not None for n in ((a,) if isinstance(a, str) else a)
                         if n not in mesh.axis_names)
        if unknown:
            raise ValueError(f"Layout axes {self._axes} name {unknown}, which are not axes of the mesh {mesh.axis_names}")
        self._device_mesh = mesh

    @property
    def backend_layout(self) -> jax.sharding.NamedSharding:
        """The `jax.sharding.NamedSharding` for this layout."""
        if self._device_mesh is None:
            raise ValueError(f"Layout {self._axes} has no device mesh yet; give one or put the layout in a LayoutMap")
        return jax.sharding.NamedSharding(self._device_mesh.backend_mesh, jax.sharding.PartitionSpec(*self._axes))

    def __eq__(self, other) -> bool:
        return isinstance(other, TensorLayout) and self._axes == other._axes and self._device_mesh is other._device_mesh

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<TensorLayout axes={self._axes}, device_mesh={self._device_mesh}>"


class LayoutMap(collections.abc.MutableMapping):
    """Maps weight paths to layouts; keys are regular expressions.

    Looking up a path ("dense_1/kernel") returns the layout of the key equal to it, else of the one key
    that `re.search`-matches it (None when none does; a ValueError naming the keys when several do).
    Values may be `TensorLayout`s or, as a shortcut, tuples of mesh axis names and None.

    ```python
    layout_map = LayoutMap(mesh)
    layout_map["dense.*kernel"] = (None, "model")
    layout_map["dense.*bias"] = ("model",)
    ```

    Args:
        device_mesh: the `DeviceMesh` the layouts refer to.
    """

    def __init__(self, device_mesh: DeviceMesh):
        if not isinstance(device_mesh, DeviceMesh):
            raise TypeError(f"`device_mesh` must be a DeviceMesh, got {type(device_mesh).__name__}")
        self._device_mesh = device_mesh
        self._layouts: dict[str, TensorLayout] = {}

    @property
    def device_mesh(self) -> DeviceMesh:
        return self._device_mesh

    def matching_keys(self, path: str) -> list[str]:
        """The keys that apply to `path`: `[path]` if it is a key, else every key whose regex `re.search`es it."""
        if path in self._layouts:
            return [path]
        return [key for key in self._layouts if re.search(key, path)]

    def __getitem__(self, path: str) -> TensorLayout | None:
        keys = self.matching_keys(path)
        if len(keys) > 1:
            raise ValueError(f"Path {path!r} matches several LayoutMap keys {keys}; make each weight path match at most one key")
        return self._layouts[keys[0]] if keys else None

    def __setitem__(self, key: str, layout) -> None:
        if not isinstance(key, str):
            raise TypeError(f"LayoutMap keys must be strings (regexes over weight paths), got {key!r}")
        if key in self._layouts:
            raise ValueError(f"LayoutMap key {key!r} is already set to {self._layouts[key]}")
        try:
            re.compile(key)
        except re.error as e:
            raise ValueError(f"LayoutMap key {key!r} is not a valid regular expression: {e}") from None
        if isinstance(layout, (tuple, list)):
            layout = TensorLayout(layout)
        if not isinstance(layout, TensorLayout):
            raise TypeError(f"LayoutMap[{key!r}] must be a TensorLayout or a tuple of axis names/None, got {layout!r}")
        if layout.device_mesh is None:
            layout.device_mesh = self._device_mesh
        self._layouts[key] = layout

    def __delitem__(self, key: str) -> None:
        del self._layouts[key]

    def __iter__(self):
        return iter(self._layouts)

    def __len__(self) -> int:
        return len(self._layouts)

    def __repr__(self) -> str:
        return f"<LayoutMap {dict((k, v.axes) for k, v in self._layouts.items())}, device_mesh={self._device_mesh}>"
