"""Normalization ops: batch, layer and group normalization, each with its scale and offset as inputs."""

from __future__ import annotations

from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.shapes import normalize_axes, normalize_axis
from kgraph.ir.traits import LAYOUT_TRANSPARENT
from kgraph.ir.types import TensorType, is_float


def _dims_match(a, b) -> bool:
    return a == b or isinstance(a, str) or isinstance(b, str)


def _check_params(op: str, x: TensorType, params: list[TensorType], names: tuple[str, ...], shape: tuple) -> None:
    if not is_float(x.dtype):
        raise ShapeError(f"{op} needs a floating-point input, got {x.dtype}")
    for name, param in zip(names, params):
        if param.dtype != x.dtype:
            raise ShapeError(f"{op}: {name} has dtype {param.dtype}, the input {x.dtype}")
        if param.rank != len(shape) or not all(_dims_match(a, b) for a, b in zip(param.shape, shape)):
            raise ShapeError(f"{op}: {name} must have shape {shape} for an input of shape {x.shape}, got {param.shape}")


def _batch_normalization(types, axis, epsilon):
    x, *params = types
    channels = x.shape[normalize_axis(axis, x.rank, "batch_normalization")]
    _check_params("batch_normalization", x, params, ("mean", "variance", "scale", "offset"), (channels,))
    return [x]


register("batch_normalization", _batch_normalization, attrs={"axis": -1, "epsilon": 1e-3}, num_inputs=5,
         traits=(LAYOUT_TRANSPARENT,), axis="axis",
         doc="(x - mean) * rsqrt(variance + epsilon) * scale + offset, the 1-D statistics along axis")


def _normalize_batch(types, axis, epsilon):
    x, *params = types
    channels = x.shape[normalize_axis(axis, x.rank, "normalize_batch")]
    _check_params("normalize_batch", x, params, ("scale", "offset"), (channels,))
    statistics = TensorType(x.dtype, (channels,))
    return [x, statistics, statistics]


register("normalize_batch", _normalize_batch, attrs={"axis": -1, "epsilon": 1e-3}, num_inputs=3,
         doc="batch normalization by the input's own mean and variance over every axis but `axis` (what training "
             "normalizes by); outputs the normalized input, then that mean and variance")


def _layer_normalization(types, axis, epsilon):
    x, *params = types
    axes = normalize_axes(axis, x.rank, "layer_normalization")
    _check_params("layer_normalization", x, params, ("scale", "offset"), tuple(x.shape[a] for a in axes))
    return [x]


register("layer_normalization", _layer_normalization, attrs={"axis": REQUIRED, "epsilon": 1e-3}, num_inputs=3,
         traits=(LAYOUT_TRANSPARENT,), axes="axis",
         doc="normalize by the mean and variance over axes, then scale and offset (shaped as those axes)")


def _group_normalization(types, groups, axis, epsilon):
    x, *params = types
    channels = x.shape[normalize_axis(axis, x.rank, "group_normalization")]
    if not isinstance(channels, int):
        raise ShapeError(f"group_normalization needs a known channel dim, got input shape {x.shape}")
    if not isinstance(groups, int) or groups <= 0 or channels % groups:
        raise ShapeError(f"group_normalization: {channels} channels cannot be split into {groups!r} equal groups")
    _check_params("group_normalization", x, params, ("scale", "offset"), (channels,))
    return [x]


register("group_normalization", _group_normalization, attrs={"groups": REQUIRED, "axis": -1, "epsilon": 1e-3},
         num_inputs=3, traits=(LAYOUT_TRANSPARENT,), axis="axis", doc="normalize each sample's groups of channels along axis, then per-channel scale and offset")
