"""PReLU: a leaky ReLU whose negative slope is learned per element (or shared across axes)."""

from __future__ import annotations

from kgraph import initializers, ops, regularizers
from kgraph.layers.layer import Layer


class PReLU(Layer):
    """Parametric ReLU: `x` where `x >= 0`, else `alpha * x` with a learned `alpha` of the input's shape
    (without the batch dim), of size 1 along `shared_axes`.

    Args:
        alpha_initializer: initializer for alpha (default zeros).
        alpha_regularizer: a penalty on alpha added to the loss.
        alpha_constraint: a constraint on alpha.
        shared_axes: an int or a list of ints, the axes (1 is the first after the batch) along which one
            alpha is shared, e.g. `[1, 2]` for one slope per channel of (batch, height, width, channels) images.
    """

    supports_masking = True

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = alpha_constraint
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = [int(a) for a in shared_axes]
        else:
            self.shared_axes = [int(shared_axes)]

    def build(self, input_shape):
        rank = len(input_shape)
        shared = self.shared_axes or []
        if any(not 0 < a < rank for a in shared):
            raise ValueError(f"Layer {self.name!r} (PReLU): shared_axes must be axes 1 to {rank - 1} of input shape "
                             f"{tuple(input_shape)}. Received: shared_axes={self.shared_axes}")
        shape = tuple(1 if i in shared else d for i, d in enumerate(input_shape) if i > 0)
        if None in shape:
            raise ValueError(f"Layer {self.name!r} (PReLU): input shape {tuple(input_shape)} has unknown dims that "
                             f"are not in shared_axes={self.shared_axes}; alpha needs a known shape")
        self.alpha = self.add_weight(shape=shape, initializer=self.alpha_initializer, name="alpha",
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        self.built = True

    def call(self, inputs):
        negative = ops.multiply(ops.negative(self.alpha), ops.relu(ops.negative(inputs)))
        return ops.add(ops.relu(inputs), negative)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": self.alpha_constraint,
            "shared_axes": self.shared_axes,
        }
