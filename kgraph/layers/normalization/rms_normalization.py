"""RMSNormalization: divides by the root mean square over the given axes, then scales."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.layer import Layer
from kgraph.layers.normalization.axes import checked_axes


class RMSNormalization(Layer):
    """`x * rsqrt(mean(square(x), axis) + epsilon) * scale`, computed in at least float32.

    Args:
        axis: an int or a list of ints, the axes the mean is taken over and `scale` spans.
        epsilon: added to the mean square for stability.
    """

    def __init__(self, axis=-1, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon = epsilon

    def build(self, input_shape):
        self._axes = checked_axes(self, self.axis, input_shape)
        if isinstance(self.axis, (list, tuple)):
            self.axis = sorted(self.axis)
            shape = tuple(input_shape[a] for a in self.axis)
        else:
            shape = (input_shape[self.axis],)
            self.axis = [self.axis]
        self.scale = self.add_weight(name="scale", shape=shape, initializer="ones")
        self.built = True

    def call(self, inputs):
        dtype = inputs.dtype
        x = inputs if dtype in ("float32", "float64") else ops.cast(inputs, "float32")
        rrms = ops.rsqrt(ops.add(ops.mean(ops.square(x), axis=self._axes, keepdims=True), self.epsilon))
        scale = ops.cast(self.scale, x.dtype)
        return ops.cast(ops.multiply(ops.multiply(x, rrms), scale), dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
