"""VGG16 and VGG19: Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition"."""

from __future__ import annotations

from kgraph import config, layers
from kgraph.applications import imagenet_utils
from kgraph.applications.builder import image_input, model_inputs, pool
from kgraph.applications.weights import check_weights, load_weights
from kgraph.models import Functional

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/"
WEIGHTS_HASHES = {
    "vgg16": ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6"),
}


def VGG(convs_per_block, family: str, include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
        pooling=None, classes=1000, classifier_activation="softmax", name="vgg16"):
    """Five blocks of 3×3 ReLU convolutions (`convs_per_block[i]` in block i) each ending in 2×2 max pooling;
    `family` ("vgg16" or "vgg19") names the ImageNet weights file."""
    check_weights(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    data_format=config.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = image_input(input_tensor, input_shape)
    x = img_input
    for block, (filters, convs) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block), start=1):
        for conv in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{conv}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = pool(x, pooling)
    model = Functional(model_inputs(input_tensor, img_input), x, name=name)
    file_name = f"{family}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    load_weights(model, weights, file_name, f"{BASE_WEIGHTS_PATH}{family}/{file_name}",
                 WEIGHTS_HASHES[family][0 if include_top else 1])
    return model


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg16"):
    """Instantiates the VGG16 architecture (inputs: `vgg16.preprocess_input` of RGB images in [0, 255]).

    Args:
        include_top: whether to include the 3 fully-connected layers at the top.
        weights: None (random initialization), "imagenet", or the path of a weights file to load.
        input_tensor: an optional Keras tensor to use as the image input.
        input_shape: the image shape when `include_top` is False (at least 32×32).
        pooling: for a headless model, None (the 4D feature map), "avg" or "max" global pooling.
        classes: the number of classes of the classifier.
        classifier_activation: the classifier's activation; None returns logits.
        name: the model's name.
    """
    return VGG((2, 2, 3, 3, 3), "vgg16", include_top, weights, input_tensor, input_shape, pooling, classes,
               classifier_activation, name)


def preprocess_input(x, data_format=None):
    """VGG's preprocessing: RGB to BGR, then each channel zero-centred on ImageNet's mean (no scaling)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """Decodes ImageNet predictions into `(class_name, class_description, score)` tuples, best first."""
    return imagenet_utils.decode_predictions(preds, top=top)
