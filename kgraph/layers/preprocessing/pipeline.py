"""Pipeline: a list of preprocessing layers applied in order, passing masks and `training` on."""

from __future__ import annotations

from kgraph import tree
from kgraph.layers.layer import Layer, get_mask
from kgraph.layers.rnn.rnn import deserialize_layer, serialize_layer


class Pipeline(Layer):
    """Applies `layers` one after the other, like a Sequential model but usable in tf.data pipelines.

    Args:
        layers: the layers, in order.
    """

    def __init__(self, layers, name=None):
        super().__init__(name=name)
        self._pipeline_layers = list(layers)
        self.built = True

    @property
    def layers(self) -> list:
        return self._pipeline_layers

    def call(self, inputs, training=True, mask=None):
        outputs = inputs
        for layer in self._pipeline_layers:
            kwargs = {}
            if layer._call_has_mask_arg:
                kwargs["mask"] = mask
            if layer._call_has_training_arg and training is not None:
                kwargs["training"] = training
            outputs = layer(inputs, **kwargs)
            inputs = outputs
            mask = tree.map_structure(get_mask, outputs)
        return outputs

    def get_config(self) -> dict:
        return {"layers": [serialize_layer(layer) for layer in self._pipeline_layers], "name": self.name}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Pipeline":
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(f"`Pipeline` config must contain a `layers` key mapping to a list of serialized layers. "
                             f"Received config with layers={layers}.")
        return cls([deserialize_layer(layer, custom_objects) for layer in layers], name=config.get("name"))
