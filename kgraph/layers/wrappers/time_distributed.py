"""TimeDistributed: applies a layer to every timestep of a sequence, with the layer's weights shared."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.layer import Layer
from kgraph.layers.wrappers.wrapper import Wrapper


class TimeDistributed(Wrapper):
    """Applies `layer` to each slice `inputs[:, t]` (unrolled over the known timesteps, as Keras does).

    Args:
        layer: the layer applied at each timestep.
    """

    supports_masking = True

    def __init__(self, layer: Layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `TimeDistributed` layer with a `keras.layers.Layer` instance. "
                             f"Received: {layer}")
        super().__init__(layer, **kwargs)

    def _child_input_shape(self, input_shape) -> tuple:
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(f"`TimeDistributed` Layer should be passed an `input_shape` with at least 3 dimensions, "
                             f"received: {input_shape}")
        return (None if input_shape[0] is None or input_shape[1] is None else input_shape[0] * input_shape[1],
                *input_shape[2:])

    def build(self, input_shape) -> None:
        super().build(self._child_input_shape(tuple(input_shape)))

    def call(self, inputs, training=None, mask=None):
        steps = inputs.shape[1]
        if steps is None:
            raise ValueError(f"Layer {self.name!r} (TimeDistributed) needs a known number of timesteps, got inputs of "
                             f"shape {tuple(inputs.shape)}")
        kwargs = {}
        if self.layer._call_has_training_arg:
            kwargs["training"] = training
        outputs = []
        for t in range(steps):
            if self.layer._call_has_mask_arg and mask is not None:
                kwargs["mask"] = mask[:, t]
            outputs.append(self.layer(inputs[:, t], **kwargs))
        return ops.stack(outputs, axis=1)

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape(self._child_input_shape(tuple(input_shape)))
        return (input_shape[0], input_shape[1], *child[1:])
