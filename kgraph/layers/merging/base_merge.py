"""Merge: the base of layers that combine a list of tensors into one, checking shapes and or-ing masks."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.layer import Layer


class Merge(Layer):
    """Combines a list of tensors elementwise with broadcasting; lower-rank inputs get size-1 dims after the batch.

    The output mask is the `or` of the inputs' masks, or None if any input has none.
    """

    supports_masking = True

    def _describe(self) -> str:
        return f"Layer {self.name!r} ({type(self).__name__})"

    def _check_list(self, input_shape) -> list[tuple]:
        if not isinstance(input_shape, (list, tuple)) or not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"{self._describe()} should be called on a list of tensors, got input shape {input_shape}")
        if not input_shape:
            raise ValueError(f"{self._describe()} needs at least one input, got none")
        shapes = [tuple(s) for s in input_shape]
        batches = {s[0] for s in shapes if s} - {None}
        if len(batches) > 1:
            raise ValueError(f"{self._describe()} cannot merge tensors of different batch sizes, got shapes {shapes}")
        return shapes

    def build(self, input_shape) -> None:
        shapes = self._check_list(input_shape)
        output = shapes[0][1:]
        for shape in shapes[1:]:
            output = self._broadcast(output, shape[1:], shapes)
        self.built = True

    def _broadcast(self, a: tuple, b: tuple, shapes: list) -> tuple:
        """Right-aligned broadcasting where None matches anything, as Keras' merge layers check it."""
        if len(a) < len(b):
            a, b = b, a
        result = list(a[:len(a) - len(b)])
        for i, j in zip(a[len(a) - len(b):], b):
            if i is not None and j is not None and 1 not in (i, j) and i != j:
                raise ValueError(f"{self._describe()} needs inputs of compatible shapes, got shapes {shapes}")
            result.append(None if None in (i, j) else max(i, j) if 1 in (i, j) else i)
        return tuple(result)

    def call(self, inputs, mask=None):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{self._describe()} should be called on a list of tensors, got {inputs!r}")
        rank = max(ops.ndim(x) for x in inputs)
        aligned = []
        for x in inputs:
            for _ in range(rank - ops.ndim(x)):
                x = ops.expand_dims(x, 1)
            aligned.append(x)
        return self._merge(aligned, list(mask) if mask is not None else [None] * len(inputs))

    def _merge(self, inputs: list, masks: list):
        raise NotImplementedError(f"{type(self).__name__} does not implement _merge()")

    def compute_mask(self, inputs, mask=None):
        if mask is None or not isinstance(mask, (list, tuple)):
            return None
        if any(m is None for m in mask):
            return None
        output = mask[0]
        for m in mask[1:]:
            output = ops.logical_or(output, m)
        return output
