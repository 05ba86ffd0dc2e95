"""Permute: reorders the non-batch axes."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.layer import Layer


class Permute(Layer):
    """Transposes the axes after the batch axis: output axis i+1 is input axis `dims[i]`.

    Args:
        dims: a permutation of 1 … rank-1 (the batch axis 0 stays first).
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: `dims` must be a permutation of 1..{len(self.dims)} (axis 0 is the batch), "
                             f"got dims={self.dims}")

    def build(self, input_shape) -> None:
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"Layer {self.name!r} (Permute) with dims={self.dims} needs inputs of rank "
                             f"{len(self.dims) + 1}, got input shape {tuple(input_shape)}")
        self.built = True

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": self.dims}
