"""ResNet50V2/101V2/152V2: He et al., "Identity Mappings in Deep Residual Networks" (pre-activation blocks)."""

from __future__ import annotations

from kgraph.applications import imagenet_utils
from kgraph.applications.resnet import ResNet, stack_residual_blocks_v2


def _v2_stages(depths):
    def stack_fn(x):
        x = stack_residual_blocks_v2(x, 64, depths[0], name="conv2")
        x = stack_residual_blocks_v2(x, 128, depths[1], name="conv3")
        x = stack_residual_blocks_v2(x, 256, depths[2], name="conv4")
        return stack_residual_blocks_v2(x, 512, depths[3], stride1=1, name="conv5")

    return stack_fn


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
               classifier_activation="softmax", name="resnet50v2"):
    """Instantiates the ResNet50V2 architecture (inputs: `resnet_v2.preprocess_input`, i.e. scaled to [-1, 1]).

    Args:
        include_top: whether to include the classifier (global pooling and a Dense of `classes`).
        weights: None (random initialization), "imagenet", or the path of a weights file to load.
        input_tensor: an optional Keras tensor to use as the image input.
        input_shape: the image shape when `include_top` is False (at least 32×32).
        pooling: for a headless model, None (the 4D feature map), "avg" or "max" global pooling.
        classes: the number of classes of the classifier.
        classifier_activation: the classifier's activation; None returns logits.
        name: the model's name.
    """
    return ResNet(_v2_stages((3, 4, 6, 3)), True, True, include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name, "resnet50v2")


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="resnet101v2"):
    """Instantiates the ResNet101V2 architecture; the arguments are ResNet50V2's."""
    return ResNet(_v2_stages((3, 4, 23, 3)), True, True, include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name, "resnet101v2")


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="resnet152v2"):
    """Instantiates the ResNet152V2 architecture; the arguments are ResNet50V2's."""
    return ResNet(_v2_stages((3, 8, 36, 3)), True, True, include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name, "resnet152v2")


def preprocess_input(x, data_format=None):
    """ResNetV2's preprocessing: pixels scaled from [0, 255] to [-1, 1]."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """Decodes ImageNet predictions into `(class_name, class_description, score)` tuples, best first."""
    return imagenet_utils.decode_predictions(preds, top=top)
