"""Devices and the named grid they are arranged in: `list_devices`, `get_device_count`, `DeviceMesh`."""

from __future__ import annotations

import math

import jax
import numpy as np


def list_devices(device_type: str | None = None) -> list[str]:
    """The devices to distribute over, as "platform:id" strings ("gpu:0", "cpu:3", …).

    In a multi-process run these are the global devices of every process.

    Args:
        device_type: "cpu", "gpu" or "tpu"; defaults to JAX's default backend (an accelerator when there is one).
    """
    return [f"{d.platform}:{d.id}" for d in jax.devices(backend=device_type.lower() if device_type else None)]


def get_device_count(device_type: str | None = None) -> int:
    """How many devices `list_devices(device_type)` returns."""
    return jax.device_count(device_type.lower() if device_type else None)


def to_jax_device(device) -> jax.Device:
    """A `jax.Device` from a device or a "platform:id" / "platform" string."""
    if isinstance(device, jax.Device):
        return device
    name = str(device)
    platform, _, index = name.partition(":")
    try:
        candidates = jax.devices(backend=platform.lower())
    except RuntimeError as e:
        raise ValueError(f"Device {name!r}: no {platform!r} backend ({e})") from None
    wanted = int(index) if index else 0
    for d in candidates:
        if d.id == wanted:
            return d
    raise ValueError(f"Device {name!r} not found; the {platform} devices are {[f'{d.platform}:{d.id}' for d in candidates]}")


class DeviceMesh:
    """Devices arranged in a grid with named axes (a `jax.sharding.Mesh`).

    Args:
        shape: the grid's shape, e.g. `(8,)` for data parallelism or `(2, 4)` for data × model.
        axis_names: one name per axis, e.g. `("batch", "model")`; layouts refer to axes by these names.
        devices: devices (or "platform:id" strings) to fill the grid with, in order; default `list_devices()`.
    """

    def __init__(self, shape, axis_names, devices=None):
        if not shape or not axis_names:
            raise ValueError(f"`shape` and `axis_names` must be non-empty, got shape={shape}, axis_names={axis_names}")
        shape, axis_names = tuple(int(s) for s in shape), tuple(axis_names)
        if len(shape) != len(axis_names):
            raise ValueError(f"`shape` and `axis_names` must have the same length, got shape={shape}, axis_names={axis_names}")
        if len(set(axis_names)) != len(axis_names):
            raise ValueError(f"`axis_names` must be distinct, got {axis_names}")
        devices = np.array(list_devices() if devices is None else devices, dtype=object)
        if math.prod(shape) != devices.size:
            raise ValueError(f"`shape` {shape} needs {math.prod(shape)} devices, got {devices.size} "
                             f"({list(devices.flat)})")
        self._shape = shape
        self._axis_names = axis_names
        self._devices = devices.reshape(shape)
        self._jax_mesh = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def axis_names(self) -> tuple[str, ...]:
        return self._axis_names

    @property
    def devices(self) -> np.ndarray:
        """The devices as given, in an array of the mesh's shape."""
        return self._devices

    def axis_size(self, name: str) -> int:
        """The number of devices along axis `name`."""
        if name not in self._axis_names:
            raise ValueError(f"Mesh axis {name!r} does not exist; the axes are {self._axis_names}")
        return self._shape[self._axis_names.index(name)]

    @property
    def backend_mesh(self) -> jax.sharding.Mesh:
        """The `jax.sharding.Mesh` this mesh stands for."""
        if self._jax_mesh is None:
            grid = np.array([to_jax_device(d) for d in self._devices.flat], dtype=object).reshape(self._shape)
            self._jax_mesh = jax.sharding.Mesh(grid, self._axis_names)
        return self._jax_mesh

    def __repr__(self) -> str:
        return f"<DeviceMesh shape={self._shape}, axis_names={self._axis_names}>"
