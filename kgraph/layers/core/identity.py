"""Identity: returns its input unchanged, mask included."""

from __future__ import annotations

from kgraph.layers.layer import Layer


class Identity(Layer):
    """A placeholder layer that returns its inputs (any structure) and passes their mask on."""

    supports_masking = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True

    def call(self, inputs):
        return inputs

