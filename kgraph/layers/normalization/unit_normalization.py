"""UnitNormalization: scales each sample to unit L2 norm over the given axes."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.layer import Layer
from kgraph.layers.normalization.axes import checked_axes


class UnitNormalization(Layer):
    """Divides each sample by its L2 norm over `axis` (norms below 1e-12 count as 1e-12).

    Args:
        axis: an int or a list of ints, the axes the norm is taken over.
    """

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError(f"UnitNormalization: `axis` must be an int or a list of ints, got axis={axis!r}")

    def build(self, input_shape):
        self._axes = checked_axes(self, self.axis, input_shape, known_size=False)
        self.built = True

    def call(self, inputs):
        return ops.normalize(inputs, axis=self._axes, order=2, epsilon=1e-12)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}
