"""`model.summary()`: Keras 3's table of layers, output shapes and parameter counts, in box-drawing text."""

from __future__ import annotations

import math
import textwrap

import numpy as np

from kgraph.keras_tensor import KerasTensor
from kgraph import tree
from kgraph.layers.core.input_layer import InputLayer


def readable_size(num_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if num_bytes < 1024 or unit == "GB":
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} GB"


def _count(weights) -> tuple[int, int]:
    count = sum(math.prod(v.shape) for v in weights)
    size = sum(math.prod(v.shape) * np.dtype(v.dtype if v.dtype != "bfloat16" else "float16").itemsize for v in weights)
    return count, size


def _shape_text(layer) -> str:
    try:
        outputs = [t for t in tree.flatten(layer._inbound_nodes[0].outputs) if isinstance(t, KerasTensor)]
    except (IndexError, AttributeError):
        return "?"
    shapes = [str(t.shape).replace(",)", ")") for t in outputs]
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def _connections(layer) -> str:
    if not layer._inbound_nodes:
        return "-"
    parents = []
    for t in layer._inbound_nodes[0].input_tensors:
        if t._history:
            parents.append(f"{t._history[0].name}[{t._history[1]}][{t._history[2]}]")
    return ", ".join(parents) if parents else "-"


def _rows(model, with_connections: bool) -> list[list[str]]:
    rows = []
    functional = getattr(model, "_functional", None)
    layers = model.layers
    if functional is None and not hasattr(model, "_nodes") and not layers:
        return rows
    for layer in layers:
        if not with_connections and isinstance(layer, InputLayer) and functional is not None:
            continue
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        row = [f"{layer.name} ({type(layer).__name__})", _shape_text(layer), params]
        if with_connections:
            row.append(_connections(layer))
        rows.append(row)
    return rows


def _box(widths: list[int], rows: list[list[str]], headers: list[str], align: list[str]) -> list[str]:
    def line(left, mid, right, fill):
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def cells(values, bold):
        wrapped = [textwrap.wrap(v, w, break_long_words=True) or [""] for v, w in zip(values, widths)]
        height = max(len(c) for c in wrapped)
        out = []
        for i in range(height):
            parts = []
            for c, w, a in zip(wrapped, widths, align):
                text = c[i] if i < len(c) else ""
                parts.append(" " + (text.rjust(w) if a == "right" else text.ljust(w)) + " ")
            sep = "┃" if bold else "│"
            out.append(sep + sep.join(parts) + sep)
        return out

    lines = [line("┏", "┳", "┓", "━")]
    lines += cells(headers, True)
    lines.append(line("┡", "╇", "┩", "━"))
    for i, row in enumerate(rows):
        lines += cells(row, False)
        lines.append(line("├", "┼", "┤", "─") if i < len(rows) - 1 else line("└", "┴", "┘", "─"))
    if not rows:
        lines.append(line("└", "┴", "┘", "─"))
    return lines


def format_summary(model, line_length=None, show_trainable=False) -> str:
    """The text `model.summary()` prints."""
    inputs = getattr(model, "inputs", None) or []
    with_connections = len(inputs) > 1 or any(len(l._inbound_nodes[0].input_tensors) > 1
                                              for l in model.layers if l._inbound_nodes)
    if with_connections:
        widths, headers, align = [19, 17, 10, 17], ["Layer (type)", "Output Shape", "Param #", "Connected to"], \
            ["left", "left", "right", "left"]
    else:
        widths, headers, align = [31, 22, 13], ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    lines = [f'Model: "{model.name}"']
    lines += _box(widths, _rows(model, with_connections), headers, align)
    total, total_bytes = _count(model.weights)
    trainable, trainable_bytes = _count(model.trainable_weights)
    frozen, frozen_bytes = _count(model.non_trainable_weights)
    lines.append(f" Total params: {total:,} ({readable_size(total_bytes)})")
    lines.append(f" Trainable params: {trainable:,} ({readable_size(trainable_bytes)})")
    lines.append(f" Non-trainable params: {frozen:,} ({readable_size(frozen_bytes)})")
    return "\n".join(lines)
