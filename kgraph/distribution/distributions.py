"""Distribution strategies: how the batch and each weight are laid out over a `DeviceMesh`.

`fit`, `evaluate` and `predict` read the current distribution (`set_distribution`, or inside
`distribution.scope()`) when they start, so a model built or compiled outside it is laid out then: the
batch is split along its first dimension over the data axis and each weight (with its optimizer slots) is
placed as `get_variable_layout` says; XLA inserts the collectives.

Batch sizes: `batch_size` must be a multiple of the data axis' device count (a ValueError names both
otherwise). A smaller last batch of a pass, or one batch holding all the data (`train_on_batch`), runs
replicated on every device: same numbers, no split.
"""

from __future__ import annotations

import contextlib
import warnings

import jax
import numpy as np

from kgraph.distribution.device_mesh import DeviceMesh, list_devices
from kgraph.distribution.layouts import LayoutMap, TensorLayout

DEFAULT_BATCH_DIM_NAME = "batch"
_current: dict = {"distribution": None}


class Distribution:
    """Base class: a device mesh and the name of its axis the batch is split over.

    Args:
        device_mesh: the `DeviceMesh`.
        batch_dim_name: the mesh axis the batch dimension is split over.
        auto_shard_dataset: accepted for Keras compatibility (kgraph feeds every process the same arrays).
    """

    def __init__(self, device_mesh: DeviceMesh, batch_dim_name: str | None = None, auto_shard_dataset: bool = True):
        if not isinstance(device_mesh, DeviceMesh):
            raise TypeError(f"`device_mesh` must be a DeviceMesh, got {type(device_mesh).__name__}")
        batch_dim_name = batch_dim_name or device_mesh.axis_names[0]
        if batch_dim_name not in device_mesh.axis_names:
            raise ValueError(f"`batch_dim_name` {batch_dim_name!r} is not an axis of the mesh {device_mesh.axis_names}")
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self._auto_shard_dataset = auto_shard_dataset

    @property
    def device_mesh(self) -> DeviceMesh:
        return self._device_mesh

    @property
    def batch_dim_name(self) -> str:
        return self._batch_dim_name

    @property
    def auto_shard_dataset(self) -> bool:
        return self._auto_shard_dataset

    @property
    def num_processes(self) -> int:
        return jax.process_count()

    @property
    def num_model_replicas(self) -> int:
        """How many slices the batch is split into: the size of the data axis."""
        return self._device_mesh.axis_size(self._batch_dim_name)

    def get_data_layout(self, data_shape) -> TensorLayout:
        """The layout of an input of shape `data_shape`: first dimension over the data axis, the rest whole."""
        axes = [None] * len(data_shape)
        axes[0] = self._batch_dim_name
        return TensorLayout(axes, self._device_mesh)

    def get_variable_layout(self, variable) -> TensorLayout:
        """The layout of a weight (anything with `.path` and `.shape`)."""
        raise NotImplementedError

    def get_tensor_layout(self, path: str) -> TensorLayout | None:
        """The layout for an intermediate tensor named `path`, or None to leave it to XLA."""
        return None

    @contextlib.contextmanager
    def scope(self):
        """Makes this the current distribution inside a `with` block."""
        previous = distribution()
        set_distribution(self)
        try:
            yield self
        finally:
            set_distribution(previous)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} device_mesh={self._device_mesh}, batch_dim_name={self._batch_dim_name!r}>"


def _replicated(variable, mesh: DeviceMesh) -> TensorLayout:
    return TensorLayout([None] * len(variable.shape), mesh)


class DataParallel(Distribution):
    """Every device holds all weights; each batch is split evenly over the devices.

    Give a one-axis `device_mesh`, or `devices`, or neither (all of `list_devices()`). With a mesh of more
    axes, its first axis is the data axis.

    Args:
        device_mesh: a `DeviceMesh`.
        devices: devices or "platform:id" strings, arranged as a one-axis mesh named "batch".
        auto_shard_dataset: accepted for Keras compatibility.
    """

    def __init__(self, device_mesh: DeviceMesh | None = None, devices=None, auto_shard_dataset: bool = True):
        if device_mesh is not None and devices is not None:
            raise ValueError("Pass `device_mesh` or `devices` to DataParallel, not both")
        if device_mesh is None:
            devices = list_devices() if devices is None else list(devices)
            if not devices:
                raise ValueError("`devices` must name at least one device")
            device_mesh = DeviceMesh((len(devices),), (DEFAULT_BATCH_DIM_NAME,), devices)
        elif not isinstance(device_mesh, DeviceMesh):
            raise TypeError(f"`device_mesh` must be a DeviceMesh, got {type(device_mesh).__name__}")
        elif len(device_mesh.shape) != 1:
            warnings.warn(f"DataParallel expects a one-axis mesh, got shape {device_mesh.shape}; the batch is split "
                          f"over its first axis {device_mesh.axis_names[0]!r} and weights are replicated", stacklevel=2)
        super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)

    @property
    def num_model_replicas(self) -> int:
        return int(np.prod(self.device_mesh.shape))

    def get_variable_layout(self, variable) -> TensorLayout:
        layout = getattr(variable, "_layout", None)
        return layout if layout is not None else _replicated(variable, self.device_mesh)


class ModelParallel(Distribution):
    """Weights split over the mesh as a `LayoutMap` says; the batch split over the data axis.

    ```python
    mesh = DeviceMesh((2, 4), ("batch", "model"))
    layout_map = LayoutMap(mesh)
    layout_map["dense.*kernel"] = (None, "model")
    layout_map["dense.*bias"] = ("model",)
    set_distribution(ModelParallel(layout_map=layout_map, batch_dim_name="batch"))
    ```

    Weights no key matches are replicated. A key that matches none of a model's weights is reported with
    a warning when training starts; a layout whose rank differs from its weight's, or that splits a
    dimension over an axis whose size does not divide it, is a ValueError naming the weight.

    Args:
        layout_map: the `LayoutMap`; its mesh is the distribution's mesh.
        batch_dim_name: the mesh axis the batch is split over; defaults to the mesh's first axis.
        auto_shard_dataset: accepted for Keras compatibility.
        device_mesh: accepted for code written for Keras 3.0 (`ModelParallel(device_mesh, layout_map)`);
            it must be the layout map's mesh.
    """

    def __init__(self, *args, layout_map: LayoutMap | None = None, batch_dim_name: str | None = None,
                 auto_shard_dataset: bool = True, device_mesh: DeviceMesh | None = None):
        if len(args) > 3:
            raise TypeError(f"ModelParallel takes at most 3 positional arguments (device_mesh, layout_map, "
                            f"batch_dim_name), got {len(args)}")
        legacy = dict(zip(("device_mesh", "layout_map", "batch_dim_name"), args))
        device_mesh = legacy.get("device_mesh", device_mesh)
        layout_map = legacy.get("layout_map", layout_map)
        batch_dim_name = legacy.get("batch_dim_name", batch_dim_name)
        if layout_map is None:
            raise ValueError("ModelParallel needs a `layout_map` (a LayoutMap)")
        if not isinstance(layout_map, LayoutMap):
            raise TypeError(f"`layout_map` must be a LayoutMap, got {type(layout_map).__name__}")
        if device_mesh is not None and device_mesh is not layout_map.device_mesh:
            raise ValueError(f"`device_mesh` {device_mesh} is not the layout map's mesh {layout_map.device_mesh}")
        super().__init__(layout_map.device_mesh, batch_dim_name, auto_shard_dataset)
        self._layout_map = layout_map

    @property
    def layout_map(self) -> LayoutMap:
        return self._layout_map

    def get_variable_layout(self, variable) -> TensorLayout:
        layout = getattr(variable, "_layout", None)
        if layout is None:
            layout = self._layout_map[variable.path]
        if layout is None:
            return _replicated(variable, self.device_mesh)
        check_layout(layout, variable)
        return layout

    def get_tensor_layout(self, path: str) -> TensorLayout | None:
        return self._layout_map[path]

    def unmatched_keys(self, paths) -> list[str]:
        """The layout map's keys that apply to none of `paths`."""
        used = {key for path in paths for key in self._layout_map.matching_keys(path)}
        return [key for key in self._layout_map if key not in used]


def check_layout(layout: TensorLayout, variable) -> None:
    """Raises a ValueError naming `variable` if `layout` cannot split it: wrong rank, or an axis that does not divide."""
    shape = tuple(variable.shape)
    name = getattr(variable, "path", None) or getattr(variable, "name", "?")
    if len(layout.axes) != len(shape):
        raise ValueError(f"Layout {layout.axes} for weight {name!r} has {len(layout.axes)} axes, but the weight has "
                         f"rank {len(shape)} (shape {shape})")
    mesh = layout.device_mesh
    for dim, (size, axes) in enumerate(zip(shape, layout.axes)):
        if axes is None:
            continue
        parts = int(np.prod([mesh.axis_size(a) for a in ((axes,) if isinstance(axes, str) else axes)]))
        if size % parts:
            raise ValueError(f"Layout {layout.axes} for weight {name!r} splits dimension {dim} (size {size}) over "
                             f"{axes!r}, {parts} devices, which does not divide it")


def distribution() -> Distribution | None:
    """The current distribution, or None (everything on the default device)."""
    return _current["distribution"]


def set_distribution(value: Distribution | None) -> None:
    """Makes `value` the distribution `fit`, `evaluate` and `predict` use (None: back to one device)."""
    if value is not None and not isinstance(value, Distribution):
        raise TypeError(f"set_distribution expects a Distribution or None, got {type(value).__name__}")
    _current["distribution"] = value


def distribute_tensor(tensor, layout):
    """`tensor` laid out as `layout` (a TensorLayout or jax Sharding): a sharding constraint inside a
    compiled function, a transfer outside."""
    sharding = layout.backend_layout if isinstance(layout, TensorLayout) else layout
    if isinstance(tensor, jax.core.Tracer):
        return jax.lax.with_sharding_constraint(tensor, sharding)
    return jax.device_put(tensor, sharding)
