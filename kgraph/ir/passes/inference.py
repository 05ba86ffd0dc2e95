"""Inference specialization: Dropout and gradient stops removed, BatchNormalization folded into the preceding
Dense/Conv weights, or reduced to one scale-and-shift where there are none.

BatchNormalization folds only when its statistics, scale and offset are constants: in export graphs, whose
parameters are frozen (`param_values`). Folding a `matmul`/`conv`/`conv_transpose` (+ bias `add`) scales the kernel
along its output channels and rewrites the bias; the statistics are combined in float64.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from kgraph.ir.graph import Graph, Node, Value
from kgraph.ir.passes.manager import register_pass
from kgraph.ir.passes.rewrite import GraphRewriter, numpy_dtype, users
from kgraph.ir.shapes import normalize_axis

# Ops an inference graph can drop: each returns its first input unchanged outside training.
_PASS_THROUGH = ("dropout", "stop_gradient")


def batch_norm_scale_and_shift(mean, variance, scale, offset, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """`(inv, shift)` with batch_normalization(x) == x * inv + shift, computed in float64."""
    with np.errstate(invalid="ignore", divide="ignore"):  # a negative variance gives NaN, as rsqrt does in JAX
        inv = np.asarray(scale, np.float64) / np.sqrt(np.asarray(variance, np.float64) + epsilon)
        return inv, np.asarray(offset, np.float64) - np.asarray(mean, np.float64) * inv


def _output_channel_axis(node: Node) -> int | None:
    """The axis of a linear node's output that its kernel's last (conv: filters) axis lays out, else None."""
    rank = node.outputs[0].type.rank
    if node.op == "matmul":
        return rank - 1 if node.inputs[1].type.rank == 2 and rank >= 1 else None
    if node.op in ("conv", "conv_transpose"):
        return 1 if node.attrs["data_format"] == "channels_first" else rank - 1
    return None


def _kernel_channel_axis(node: Node) -> int:
    """The kernel axis holding output channels: Keras' conv_transpose kernel is (*window, filters, in)."""
    return -2 if node.op == "conv_transpose" else -1


def _per_channel(array: np.ndarray, rank: int, axis: int, channels: int) -> bool:
    """Whether `array` broadcast against a rank-`rank` tensor varies along `axis` only, with `channels` entries."""
    if array.ndim > rank or array.size != channels:
        return False
    shape = (1,) * (rank - array.ndim) + array.shape
    return all(d == 1 for i, d in enumerate(shape) if i != axis)


class _Folder:
    def __init__(self, graph: Graph, param_values):
        self.rewriter = GraphRewriter(graph, param_values)
        self.uses = users(graph)
        self.old_of: dict[Value, Value] = {}

    def single_use(self, new: Value) -> bool:
        old = self.old_of.get(new)
        return old is not None and self.uses.get(old, 0) == 1

    def fold_batch_norm(self, node: Node) -> Value | None:
        rw = self.rewriter
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
        rw = self.rewriter
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
        if linear is None or linear.op not in ("matmul", "conv", "conv_transpose") or not self.single_use(x):
            return None
        if _output_channel_axis(linear) != axis or x.type.shape[axis] != inv.size:
            return None
        data, kernel = linear.inputs
        kernel_value = rw.constant(kernel)
        if kernel_value is None:
            return None
        k_axis = _kernel_channel_axis(linear)
        scale_shape = [1] * kernel_value.ndim
        scale_shape[k_axis] = -1
        new_kernel = (kernel_value.astype(np.float64) * inv.reshape(scale_shape)).astype(dtype)
        new_bias = shift if bias is None else bias.reshape(-1).astype(np.float64) * inv + shift
        name = linear.name
        y = rw.emit1(linear.op, [data, rw.literal(new_kernel, name)], linear.attrs, name)
        bias_shape = [-1] + [1] * (x.type.rank - axis - 1)
        return rw.emit1("add", [y, rw.literal(new_bias.astype(dtype).reshape(bias_shape), name)], {}, name)


@register_pass("inference")
def inference_specialization(graph: Graph, *, param_values: Mapping[str, Any] | None = None) -> Graph:
    folder = _Folder(graph, param_values)
    rw = folder.rewriter
    for node in graph.nodes:
        if node.op in _PASS_THROUGH:
            rw.replace(node.outputs[0], rw.get(node.inputs[0]))
            continue
        if node.op == "batch_normalization":
            folded = folder.fold_batch_norm(node)
            if folded is not None:
                rw.replace(node.outputs[0], folded)
                continue
        outs = rw.copy(node)
        folder.old_of.update(zip(outs, node.outputs))
    return rw.finish()
