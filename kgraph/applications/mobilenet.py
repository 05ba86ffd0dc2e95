"""MobileNet (V1): Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
Applications" — depthwise-separable convolutions with a width multiplier `alpha`."""

from __future__ import annotations

import warnings

from kgraph import config, layers
from kgraph.applications import imagenet_utils
from kgraph.applications.builder import image_input, model_inputs, pool
from kgraph.applications.weights import check_weights, load_weights
from kgraph.models import Functional

BASE_WEIGHT_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"
_SIZES = (128, 160, 192, 224)
_ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}


def _image_rows_cols(input_shape) -> tuple:
    return tuple(input_shape[1:3]) if config.image_data_format() == "channels_first" else tuple(input_shape[0:2])


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3, include_top=True, weights="imagenet",
              input_tensor=None, pooling=None, classes=1000, classifier_activation="softmax", name=None):
    """Instantiates the MobileNet architecture (inputs: `mobilenet.preprocess_input`, i.e. scaled to [-1, 1]).

    Args:
        input_shape: the image shape, e.g. `(160, 160, 3)` (at least 32×32); ImageNet weights exist for square
            128, 160, 192 and 224 pixel images.
        alpha: the width multiplier: filters in each layer are scaled by it (ImageNet weights: 0.25, 0.5, 0.75, 1).
        depth_multiplier: the depthwise convolutions' depth multiplier (ImageNet weights: 1).
        dropout: the dropout rate before the classifier.
        include_top: whether to include the classifier.
        weights: None (random initialization), "imagenet", or the path of a weights file to load.
        input_tensor: an optional Keras tensor to use as the image input.
        pooling: for a headless model, None (the 4D feature map), "avg" or "max" global pooling.
        classes: the number of classes of the classifier.
        classifier_activation: the classifier's activation; None returns logits.
        name: the model's name; default `mobilenet_{alpha:0.2f}_{rows}`.
    """
    check_weights(weights, include_top, classes)
    default_size = 224
    if input_shape is not None:
        rows, cols = _image_rows_cols(input_shape)
        if rows == cols and rows in _SIZES:
            default_size = rows
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=config.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    rows, cols = _image_rows_cols(input_shape)
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError(f"If imagenet weights are being loaded, depth multiplier must be 1.  Received "
                             f"depth_multiplier={depth_multiplier}")
        if alpha not in _ALPHA_TEXT:
            raise ValueError("If imagenet weights are being loaded, alpha can be one of `0.25`, `0.50`, `0.75` or "
                             f"`1.0` only.  Received alpha={alpha}")
        if rows != cols or rows not in _SIZES:
            rows = 224
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not in [128, 160, 192, 224]. "
                          "Weights for input shape (224, 224) will be loaded as the default.", stacklevel=2)
    img_input = image_input(input_tensor, input_shape)
    x = _conv_block(img_input, 32, alpha, strides=(2, 2))
    blocks = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
              (512, 1), (1024, 2), (1024, 1))
    for block_id, (filters, stride) in enumerate(blocks, start=1):
        x = _depthwise_conv_block(x, filters, alpha, depth_multiplier, strides=(stride, stride), block_id=block_id)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = pool(x, pooling)
    model = Functional(model_inputs(input_tensor, img_input), x, name=name or f"mobilenet_{alpha:0.2f}_{rows}")
    if weights == "imagenet":
        file_name = f"mobilenet_{_ALPHA_TEXT[alpha]}_{rows}_tf{'' if include_top else '_no_top'}.h5"
        load_weights(model, weights, file_name, BASE_WEIGHT_PATH + file_name)
    else:
        load_weights(model, weights)
    return model


def _conv_block(inputs, filters, alpha, kernel=(3, 3), strides=(1, 1)):
    """The stem: a strided convolution, batch norm and ReLU6."""
    axis = 1 if config.image_data_format() == "channels_first" else -1
    x = layers.Conv2D(int(filters * alpha), kernel, padding="same", use_bias=False, strides=strides,
                      name="conv1")(inputs)
    x = layers.BatchNormalization(axis=axis, name="conv1_bn")(x)
    return layers.ReLU(6.0, name="conv1_relu")(x)


def _depthwise_conv_block(inputs, pointwise_conv_filters, alpha, depth_multiplier=1, strides=(1, 1), block_id=1):
    """A depthwise 3×3 convolution then a pointwise 1×1 one, each followed by batch norm and ReLU6."""
    axis = 1 if config.image_data_format() == "channels_first" else -1
    x = inputs
    if strides != (1, 1):
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(inputs)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if strides == (1, 1) else "valid",
                               depth_multiplier=depth_multiplier, strides=strides, use_bias=False,
                               name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(pointwise_conv_filters * alpha), (1, 1), padding="same", use_bias=False, strides=(1, 1),
                      name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def preprocess_input(x, data_format=None):
    """MobileNet's preprocessing: pixels scaled from [0, 255] to [-1, 1]."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """Decodes ImageNet predictions into `(class_name, class_description, score)` tuples, best first."""
    return imagenet_utils.decode_predictions(preds, top=top)
