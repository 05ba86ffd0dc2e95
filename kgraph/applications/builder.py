"""The pieces every application builder shares: its input, its source inputs, channel axes, pooling and naming."""

from __future__ import annotations

from kgraph import config, layers
from kgraph.applications import imagenet_utils
from kgraph.keras_tensor import KerasTensor
from kgraph.layers.core.input_layer import InputLayer


def image_input(input_tensor, input_shape) -> KerasTensor:
    """The model's image input: a new `Input` of `input_shape`, or the Keras tensor `input_tensor`."""
    if input_tensor is None:
        return layers.Input(shape=input_shape)
    if not isinstance(input_tensor, KerasTensor):
        raise TypeError("`input_tensor` must be a Keras tensor (the output of `kgraph.Input()` or of layers called on "
                        f"it). Received: input_tensor of type {type(input_tensor).__name__}")
    return input_tensor


def source_inputs(tensor: KerasTensor) -> list[KerasTensor]:
    """The `Input` tensors that `tensor` is computed from, in order, each once."""
    layer, index, _ = tensor._history
    if isinstance(layer, InputLayer):
        return [tensor]
    found: list[KerasTensor] = []
    for parent in layer._inbound_nodes[index].input_tensors:
        found += [t for t in source_inputs(parent) if all(t is not f for f in found)]
    return found


def model_inputs(input_tensor, img_input: KerasTensor):
    """What the model is built from: the inputs behind `input_tensor` when one was given, else `img_input`."""
    return img_input if input_tensor is None else source_inputs(input_tensor)


def channel_axis() -> int:
    """The channel axis of a 4D image batch under `kgraph.config.image_data_format()`: 3 or 1."""
    return 1 if config.image_data_format() == "channels_first" else 3


def require_channels_last(family: str) -> None:
    """Some architectures are defined for channels-last images only."""
    if config.image_data_format() == "channels_first":
        raise ValueError(f"{family} does not support the `channels_first` image data format. Switch to "
                         "`channels_last` with `kgraph.config.set_image_data_format('channels_last')`.")


def pool(x, pooling, avg_name: str | None = None, max_name: str | None = None):
    """The optional global pooling of a headless model: "avg", "max" or None (the feature map as it is)."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=max_name)(x)
    return x


def classifier(x, classes, classifier_activation, weights, *, avg_name: str | None = "avg_pool",
               dropout_rate: float = 0.0, **dense_kwargs):
    """The usual ImageNet top: global average pooling, optional dropout, then the `predictions` Dense layer."""
    x = layers.GlobalAveragePooling2D(name=avg_name)(x)
    if dropout_rate > 0:
        x = layers.Dropout(dropout_rate, name="top_dropout")(x)
    imagenet_utils.validate_activation(classifier_activation, weights)
    return layers.Dense(classes, activation=classifier_activation, name="predictions", **dense_kwargs)(x)
