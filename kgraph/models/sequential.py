"""Sequential: a plain stack of layers, each with one input and one output."""

from __future__ import annotations

from kgraph.keras_tensor import KerasTensor
from kgraph.layers.core.input_layer import Input, InputLayer
from kgraph.layers.layer import Layer, unique_name
from kgraph.models.model import Model
from kgraph.models.functional import Functional
from kgraph.paths import name_scope


def _input_shape_of(layer: Layer):
    """The batch shape a first layer fixes: its `input_shape=`, or the one input of a graph model (as Keras)."""
    if layer._build_shapes is not None:
        return layer._build_shapes
    inputs = getattr(layer, "inputs", None) if isinstance(layer, Model) else None
    if inputs and len(inputs) == 1:
        return tuple(inputs[0].shape)
    return None


class Sequential(Model):
    """A linear stack of layers, built from an `Input` (or `input_shape=`) or on its first call.

    Args:
        layers: the layers, in order (an `keras.Input(...)` may come first).
        trainable: whether its weights train.
        name: the model's name (default "sequential", "sequential_1", …).
    """

    _keras_location = ("keras", "Sequential", None)

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(name=name or unique_name("sequential"), trainable=trainable)
        object.__setattr__(self, "_functional", None)
        object.__setattr__(self, "_input_layer", None)
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._rebuild()

    def add(self, layer, rebuild: bool = True) -> None:
        """Appends a layer (or sets the input, for a `keras.Input`)."""
        if isinstance(layer, KerasTensor) and layer._history and isinstance(layer._history[0], InputLayer):
            layer = layer._history[0]
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._layers:
                raise ValueError(f"Sequential model {self.name!r}: an Input can only come first")
            object.__setattr__(self, "_input_layer", layer)
        elif isinstance(layer, Layer):
            if any(l.name == layer.name for l in self._layers):
                raise ValueError(f"All layers added to a Sequential model should have unique names. "
                                 f"Name {layer.name!r} is already the name of a layer in this model.")
            self._layers.append(layer)
        else:
            raise TypeError(f"Only instances of `keras.Layer` can be added to a Sequential model. Received: {layer!r} "
                            f"(of type {type(layer).__name__})")
        if rebuild:
            self._rebuild()

    def _obj_type(self) -> str:
        return "Sequential"

    def pop(self) -> Layer:
        if not self._layers:
            raise IndexError(f"Sequential model {self.name!r} has no layers to pop")
        layer = self._layers.pop()
        self._rebuild()
        return layer

    def _rebuild(self) -> None:
        object.__setattr__(self, "_functional", None)
        self.built = False
        shape = _input_shape_of(self._layers[0]) if self._input_layer is None and self._layers else None
        if shape is not None:
            object.__setattr__(self, "_input_layer", Input(batch_shape=shape)._history[0])
        if self._input_layer is None or not self._layers:
            return

        x = self._input_layer.output
        with name_scope(self.name, caller=self):
            for layer in self._layers:
                x = layer(x)
        object.__setattr__(self, "_functional", Functional(self._input_layer.output, x, name=f"{self.name}_graph"))
        self.built = True

    def build(self, input_shape=None) -> None:
        if self._functional is not None:
            return
        if input_shape is None:
            raise ValueError(f"Sequential model {self.name!r} cannot be built without an input shape")
        object.__setattr__(self, "_input_layer", Input(batch_shape=(None,) + tuple(input_shape[1:]))._history[0])
        self._rebuild()

    def call(self, inputs, training=None):
        if self._functional is not None:
            return self._functional.call(inputs, training=training)
        x = inputs
        for layer in self._layers:
            x = layer(x)
        return x

    @property
    def inputs(self) -> list:
        return self._functional.inputs if self._functional else []

    @property
    def outputs(self) -> list:
        return self._functional.outputs if self._functional else []

    @property
    def input(self):
        return self._functional.input if self._functional else super().input

    @property
    def output(self):
        return self._functional.output if self._functional else super().output

    @property
    def input_names(self) -> list[str]:
        return self._functional.input_names if self._functional else []

    @property
    def output_names(self) -> list[str]:
        return [self._layers[-1].name] if self._layers else []
