"""How an EinsumDense equation's int8 quantization is laid out, as Keras derives it: the input and kernel axes
the abs-max is taken over, and how their scales are transposed, expanded and squeezed to broadcast against the
output (so the kernel scale has Keras' shape and files cross)."""

from __future__ import annotations

import re
import string
from typing import NamedTuple

from kgraph import ops


class EinsumQuantization(NamedTuple):
    input_reduced_axes: list
    kernel_reduced_axes: list
    input_transpose_axes: list
    kernel_transpose_axes: list
    input_expand_axes: list
    kernel_expand_axes: list
    input_squeeze_axes: list
    kernel_squeeze_axes: list
    gradient_equation: str


def _specs(equation: str, input_rank: int) -> tuple[str, str, str]:
    dotted = re.sub(r"\.\.\.", "0", equation)
    plain = re.match("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", dotted)
    if plain is not None:
        return plain.groups()
    for pattern, left in (("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", True),
                          ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", False)):
        match = re.match(pattern, dotted)
        if match is None:
            continue
        input_spec, kernel_spec, output_spec = match.groups()
        free = sorted(set(string.ascii_letters) - set(input_spec) - set(kernel_spec) - set(output_spec))
        for label in free[:input_rank - len(input_spec)]:
            input_spec, output_spec = ((label + input_spec, label + output_spec) if left
                                       else (input_spec + label, output_spec + label))
        return input_spec, kernel_spec, output_spec
    raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form [X],[Y]->[Z], "
                     "...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")


def analyze(equation: str, input_rank: int) -> EinsumQuantization:
    """Keras' `_analyze_quantization_info` for `equation` on inputs of rank `input_rank`."""
    input_spec, kernel_spec, output_spec = _specs(equation, input_rank)
    input_reduced = [i for i, label in enumerate(input_spec) if label not in output_spec]
    kernel_reduced = [i for i, label in enumerate(kernel_spec) if label not in output_spec]
    input_expand = [i for i, label in enumerate(output_spec) if label not in input_spec]
    kernel_expand = [i for i, label in enumerate(output_spec) if label not in kernel_spec]
    input_transpose = [input_spec.index(label) for label in output_spec if label in input_spec]
    kernel_transpose = [kernel_spec.index(label) for label in output_spec if label in kernel_spec]
    input_squeeze, kernel_squeeze = [], []
    index = None
    for reduced, expand, squeeze, transpose in ((input_reduced, input_expand, input_squeeze, input_transpose),
                                                (kernel_reduced, kernel_expand, kernel_squeeze, kernel_transpose)):
        for original in reduced:
            if expand:
                index = expand.pop(0)
            else:
                squeeze.append(original)
            transpose.insert(index, original)
    return EinsumQuantization(input_reduced, kernel_reduced, input_transpose, kernel_transpose, input_expand,
                              kernel_expand, input_squeeze, kernel_squeeze,
                              f"{output_spec},{kernel_spec}->{input_spec}")


def kernel_scale_shape(info: EinsumQuantization, kernel_shape) -> list:
    """The shape of the kernel's scale: the kernel's with its reduced axes 1, laid out like the output."""
    shape = list(kernel_shape)
    for axis in info.kernel_reduced_axes:
        shape[axis] = 1
    shape = [shape[axis] for axis in info.kernel_transpose_axes]
    for axis in sorted(info.kernel_expand_axes):
        shape.insert(axis, 1)
    for axis in sorted(info.kernel_squeeze_axes, reverse=True):
        shape.pop(axis)
    return shape


def scale_for_output(info: EinsumQuantization, scale, tensor: str):
    """An abs-max scale (reduced axes kept as 1) laid out to broadcast against the output (Keras'
    `_adjust_scale_for_quant`)."""
    transpose, expand, squeeze = ((info.kernel_transpose_axes, info.kernel_expand_axes, info.kernel_squeeze_axes)
                                  if tensor == "kernel" else
                                  (info.input_transpose_axes, info.input_expand_axes, info.input_squeeze_axes))
    if transpose:
        scale = ops.transpose(scale, transpose)
    return _squeeze(_expand(scale, expand), squeeze)


def scale_for_kernel(info: EinsumQuantization, scale):
    """The kernel's scale laid out like the kernel again (Keras' `_adjust_scale_for_dequant`)."""
    scale = _squeeze(_expand(scale, info.kernel_squeeze_axes), info.kernel_expand_axes)
    if info.kernel_transpose_axes:
        reverse = sorted(range(len(info.kernel_transpose_axes)), key=info.kernel_transpose_axes.__getitem__)
        scale = ops.transpose(scale, reverse)
    return scale


def _expand(x, axes):
    for axis in sorted(axes):
        x = ops.expand_dims(x, axis)
    return x


def _squeeze(x, axes):
    for axis in sorted(axes, reverse=True):
        x = ops.squeeze(x, axis)
    return x
