"""Inference specialization, a pattern table: ops that are identities outside training (dropout, gradient stops)
removed, BatchNormalization folded into the preceding Dense/Conv weights, or reduced to one scale-and-shift where
there are none.

BatchNormalization folds only when its statistics, scale and offset are constants: in export graphs, whose
parameters are frozen (`param_values`). Folding a `matmul`/`conv`/`conv_transpose` (+ bias `add`) scales the kernel
along its output channels and rewrites the bias; the statistics are combined in float64.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from kgraph.ir.graph import Graph, Node, Value
from kgraph.ir.passes.manager import PassResult, register_pass
from kgraph.ir.passes.pattern import PatternTable, apply_patterns, on
from kgraph.ir.passes.rewrite import GraphRewriter, users
from kgraph.ir.shapes import normalize_axis
from kgraph.ir.traits import INFERENCE_IDENTITY
from kgraph.ir.types import numpy_dtype


def batch_norm_scale_and_shift(mean, variance, scale, offset, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """`(inv, shift)` with batch_normalization(x) == x * inv + shift, computed in float64."""
    with np.errstate(invalid="ignore", divide="ignore"):  # a negative variance gives NaN, as rsqrt does in JAX
        inv = np.asarray(scale, np.float64) / np.sqrt(np.asarray(variance, np.float64) + epsilon)
        return inv, np.asarray(offset, np.float64) - np.asarray(mean, np.float64) * inv


def _dense_channels(node: Node) -> int | None:
    rank = node.outputs[0].type.rank
    return rank - 1 if node.inputs[1].type.rank == 2 and rank >= 1 else None


def _conv_channels(node: Node) -> int | None:
    return 1 if node.attrs["data_format"] == "channels_first" else node.outputs[0].type.rank - 1


# The linear ops BatchNormalization folds into: op → (the axis of the node's output that holds output channels,
# else None; the kernel's output-channel axis: Keras' conv_transpose kernel is (*window, filters, in)).
_FOLDS_INTO = {"matmul": (_dense_channels, -1), "conv": (_conv_channels, -1), "conv_transpose": (_conv_channels, -2)}


def _per_channel(array: np.ndarray, rank: int, axis: int, channels: int) -> bool:
    """Whether `array` broadcast against a rank-`rank` tensor varies along `axis` only, with `channels` entries."""
    if array.ndim > rank or array.size != channels:
        return False
    shape = (1,) * (rank - array.ndim) + array.shape
    return all(d == 1 for i, d in enumerate(shape) if i != axis)


class _Folder:
    def __init__(self, graph: Graph, param_values):
        self.rw = GraphRewriter(graph, param_values)
        self.uses = users(graph)
        self.old_of: dict[Value, Value] = {}

    def copy(self, node: Node) -> list[Value]:
        outs = self.rw.copy(node)
        self.old_of.update(zip(outs, node.outputs))
        return outs

    def single_use(self, new: Value) -> bool:
        old = self.old_of.get(new)
        return old is not None and self.uses.get(old, 0) == 1

    def fold_batch_norm(self, node: Node) -> Value | None:
        rw = self.rw
        x, *stats = rw.inputs(node)
        arrays = [rw.constant(v) for v in stats]
        if any(a is None for a in arrays):
            return None
        rank = x.type.rank
        axis = normalize_axis(node.attrs["axis"], rank, "batch_normalization")
        inv, shift = batch_norm_scale_and_shift(*arrays, node.attrs["epsilon"])
        dtype = numpy_dtype(x.dtype)
        folded = self._into_linear(x, axis, inv, shift, dtype)
        if folded is not None:
            return folded
        shape = [-1] + [1] * (rank - axis - 1)
        scaled = rw.emit1("multiply", [x, rw.literal(inv.astype(dtype).reshape(shape), node.name)], {}, node.name)
        return rw.emit1("add", [scaled, rw.literal(shift.astype(dtype).reshape(shape), node.name)], {}, node.name)

    def _into_linear(self, x: Value, axis: int, inv, shift, dtype) -> Value | None:
        """`linear(x) [+ bias]` with the scale folded into the kernel and the shift into the bias, else None."""
        rw = self.rw
        bias = None
        linear = x.producer
        if linear is not None and linear.op == "add" and self.single_use(x):
            y, b = linear.inputs
            if rw.constant(y) is not None:
                y, b = b, y
            bias_value = rw.constant(b)
            if bias_value is None or y.producer is None or not self.single_use(y):
                return None
            if not _per_channel(bias_value, x.type.rank, axis, inv.size):
                return None
            bias, linear, x = bias_value, y.producer, y
        if linear is None or linear.op not in _FOLDS_INTO or not self.single_use(x):
            return None
        channel_axis, k_axis = _FOLDS_INTO[linear.op]
        if channel_axis(linear) != axis or x.type.shape[axis] != inv.size:
            return None
        data, kernel = linear.inputs
        kernel_value = rw.constant(kernel)
        if kernel_value is None:
            return None
        scale_shape = [1] * kernel_value.ndim
        scale_shape[k_axis] = -1
        new_kernel = (kernel_value.astype(np.float64) * inv.reshape(scale_shape)).astype(dtype)
        new_bias = shift if bias is None else bias.reshape(-1).astype(np.float64) * inv + shift
        name = linear.name
        y = rw.emit1(linear.op, [data, rw.literal(new_kernel, name)], linear.attrs, name)
        bias_shape = [-1] + [1] * (x.type.rank - axis - 1)
        return rw.emit1("add", [y, rw.literal(new_bias.astype(dtype).reshape(bias_shape), name)], {}, name)


@on(trait=INFERENCE_IDENTITY)
def _drop(folder: _Folder, node: Node) -> Value | None:
    return folder.rw.get(node.inputs[0])


@on("batch_normalization")
def _fold_batch_norm(folder: _Folder, node: Node) -> Value | None:
    return folder.fold_batch_norm(node)


RULES = PatternTable([_drop, _fold_batch_norm])


@register_pass("inference")
def inference_specialization(graph: Graph, *, param_values: Mapping[str, Any] | None = None) -> PassResult:
    return apply_patterns(RULES, _Folder(graph, param_values), graph)
