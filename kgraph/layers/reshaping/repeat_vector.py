"""RepeatVector: repeats a `(batch, features)` input n times along a new axis."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.layer import Layer


class RepeatVector(Layer):
    """`(batch, features)` → `(batch, n, features)`, each sample's vector repeated n times.

    Args:
        n: positive int, the number of repetitions.
    """

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise ValueError(f"RepeatVector: `n` must be a positive integer, got n={n!r}")
        self.n = n

    def build(self, input_shape) -> None:
        if len(input_shape) != 2:
            raise ValueError(f"Layer {self.name!r} (RepeatVector) needs inputs of rank 2 (batch, features), "
                             f"got input shape {tuple(input_shape)}")
        self.built = True

    def call(self, inputs):
        return ops.broadcast_to(ops.expand_dims(inputs, 1), (None, self.n, None))

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}
