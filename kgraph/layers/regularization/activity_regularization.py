"""ActivityRegularization: the identity, adding an L1/L2 penalty on its input to the loss."""

from __future__ import annotations

from kgraph import regularizers
from kgraph.layers.layer import Layer


class ActivityRegularization(Layer):
    """Passes its input through and adds `(l1 * sum|x| + l2 * sum x^2) / batch_size` to the loss, as Keras'
    activity regularizers do.

    Args:
        l1: the L1 factor, >= 0.
        l2: the L2 factor, >= 0.
    """

    supports_masking = True

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config_dict = super().get_config()
        del config_dict["activity_regularizer"]
        return {**config_dict, "l1": self.l1, "l2": self.l2}
