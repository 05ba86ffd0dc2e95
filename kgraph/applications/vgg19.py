"""VGG19: VGG16 with four convolutions in each of its last three blocks."""

from __future__ import annotations

from kgraph.applications.vgg16 import VGG, decode_predictions, preprocess_input

__all__ = ["VGG19", "decode_predictions", "preprocess_input"]


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg19"):
    """Instantiates the VGG19 architecture; the arguments are VGG16's."""
    return VGG((2, 2, 4, 4, 4), "vgg19", include_top, weights, input_tensor, input_shape, pooling, classes,
               classifier_activation, name)
