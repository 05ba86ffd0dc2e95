"""Concatenate: joins a list of tensors along one axis."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.merging.base_merge import Merge


class Concatenate(Merge):
    """Joins tensors that agree on every dim but `axis`; the mask is joined too, then reduced over the last axis.

    Args:
        axis: the axis to join along.
    """

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape) -> None:
        shapes = self._check_list(input_shape)
        ranks = {len(s) for s in shapes}
        rank = ranks.pop()
        if ranks or not -rank <= self.axis < rank:
            raise ValueError(f"{self._describe()} needs inputs of one rank with axis {self.axis}, got shapes {shapes}")
        axis = self.axis % rank
        for i in range(rank):
            dims = {s[i] for s in shapes} - {None}
            if i != axis and len(dims) > 1:
                raise ValueError(f"{self._describe()} needs inputs with matching shapes except on axis {self.axis}, "
                                 f"got shapes {shapes}")
        self.built = True

    def call(self, inputs, mask=None):
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        if mask is None or all(m is None for m in mask):
            return None
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:
                masks.append(ops.ones_like(x, dtype="bool"))
            elif ops.ndim(m) < ops.ndim(x):
                masks.append(ops.logical_or(ops.expand_dims(m, -1), ops.zeros_like(x, dtype="bool")))
            else:
                masks.append(m)
        joined = ops.concatenate(masks, axis=self.axis)
        return ops.greater(ops.sum(joined, axis=-1), 0)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


def concatenate(inputs, axis: int = -1, **kwargs):
    """`Concatenate(axis=axis, **kwargs)(inputs)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)
