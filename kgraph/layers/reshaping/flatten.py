"""Flatten: collapses every dim but the batch dim."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.layer import Layer
from kgraph import config


class Flatten(Layer):
    """Reshapes `(batch, d1, d2, …)` to `(batch, d1*d2*…)`; `data_format="channels_first"` moves channels last first."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)

        self.data_format = data_format or config.image_data_format()
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"Flatten: `data_format` must be channels_last or channels_first, got {data_format!r}")
        self.built = True

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first" and len(x.shape) > 2:
            x = ops.transpose(x, (0,) + tuple(range(2, len(x.shape))) + (1,))
        if len(x.shape) == 1:
            return ops.expand_dims(x, 1)
        rest = x.shape[1:]
        if any(d is None for d in rest):
            raise ValueError(f"Layer {self.name!r} (Flatten) needs every non-batch dim known, got input shape {tuple(inputs.shape)}")
        return ops.reshape(x, (x.shape[0], -1))

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}
