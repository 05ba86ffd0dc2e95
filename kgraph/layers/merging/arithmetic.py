"""Elementwise merges: Add, Subtract, Multiply, Average, Maximum, Minimum, and their functional forms."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.merging.base_merge import Merge


class Add(Merge):
    """The sum of a list of tensors."""

    def _merge(self, inputs, masks):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.add(output, x)
        return output


class Subtract(Merge):
    """The difference `inputs[0] - inputs[1]` of exactly two tensors."""

    def build(self, input_shape) -> None:
        if isinstance(input_shape, (list, tuple)) and len(input_shape) != 2:
            raise ValueError(f"{self._describe()} should be called on exactly 2 inputs, got shapes {list(input_shape)}")
        super().build(input_shape)

    def _merge(self, inputs, masks):
        return ops.subtract(inputs[0], inputs[1])


class Multiply(Merge):
    """The product of a list of tensors; masked steps count as 1, and steps masked in every input give 0."""

    def _merge(self, inputs, masks):
        all_masked = all(m is not None for m in masks)
        output, output_mask = None, None
        for x, mask in zip(inputs, masks):
            if mask is not None:
                mask = ops.expand_dims(mask, -1)
                x = ops.where(mask, x, 1)
                if all_masked:
                    output_mask = mask if output_mask is None else ops.logical_or(output_mask, mask)
            output = x if output is None else ops.multiply(output, x)
        return output if output_mask is None else ops.where(output_mask, output, 0)


class Average(Merge):
    """The mean of a list of tensors."""

    def _merge(self, inputs, masks):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.add(output, x)
        return ops.divide(output, len(inputs))


def _select_merge(op, inputs: list, masks: list):
    """Folds `op` over the inputs where a masked step takes the other operand's value, as Keras' Maximum does."""
    output, output_mask = inputs[0], masks[0]
    output_mask = None if output_mask is None else ops.expand_dims(output_mask, -1)
    for x, mask in zip(inputs[1:], masks[1:]):
        mask = None if mask is None else ops.expand_dims(mask, -1)
        if mask is not None:
            x = ops.where(mask, x, output)
        if output_mask is not None:
            output = ops.where(output_mask, output, x)
        output_mask = ops.logical_or(output_mask, mask) if mask is not None and output_mask is not None else None
        output = op(output, x)
    return output


class Maximum(Merge):
    """The elementwise maximum of a list of tensors."""

    def _merge(self, inputs, masks):
        return _select_merge(ops.maximum, inputs, masks)


class Minimum(Merge):
    """The elementwise minimum of a list of tensors."""

    def _merge(self, inputs, masks):
        return _select_merge(ops.minimum, inputs, masks)


def add(inputs, **kwargs):
    """`Add(**kwargs)(inputs)`."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """`Subtract(**kwargs)(inputs)`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """`Multiply(**kwargs)(inputs)`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """`Average(**kwargs)(inputs)`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """`Maximum(**kwargs)(inputs)`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """`Minimum(**kwargs)(inputs)`."""
    return Minimum(**kwargs)(inputs)
