"""ConvNeXt Tiny/Small/Base/Large/XLarge: Liu et al., "A ConvNet for the 2020s"; the ImageNet normalization is
part of the model."""

from __future__ import annotations

import numpy as np

from kgraph import config, initializers, layers
from kgraph import random as kg_random
from kgraph.applications import imagenet_utils
from kgraph.applications.builder import image_input, require_channels_last, source_inputs
from kgraph.applications.weights import check_weights, load_weights
from kgraph.layers.layer import Layer, unique_name
from kgraph.models import Functional, Sequential
from kgraph.ops.nn import dropout_with_key
from kgraph.tracing import current_trace

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/"
WEIGHTS_HASHES = {
    "convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
                       "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
                      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
                       "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
                        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}
MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "small": {"depths": [3, 3, 27, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "base": {"depths": [3, 3, 27, 3], "projection_dims": [128, 256, 512, 1024], "default_size": 224},
    "large": {"depths": [3, 3, 27, 3], "projection_dims": [192, 384, 768, 1536], "default_size": 224},
    "xlarge": {"depths": [3, 3, 27, 3], "projection_dims": [256, 512, 1024, 2048], "default_size": 224},
}

_ARGS_DOC = """
    Args:
        include_top: whether to include the classifier (global pooling, layer norm, Dense).
        include_preprocessing: whether the model starts with ImageNet's `Normalization` of [0, 255] inputs.
        weights: None (random initialization), "imagenet", or the path of a weights file to load.
        input_tensor: an optional Keras tensor to use as the image input.
        input_shape: the image shape when `include_top` is False (at least 32×32).
        pooling: for a headless model, None (the 4D feature map), "avg" or "max" global pooling.
        classes: the number of classes of the classifier.
        classifier_activation: the classifier's activation; None returns logits.
        name: the model's name.
"""


class StochasticDepth(Layer):
    """Drops a residual branch for whole samples at rate `drop_path_rate` while training (and rescales the rest).

    Args:
        drop_path_rate: float in [0, 1), the probability of dropping the branch of a sample.
    """

    def __init__(self, drop_path_rate, **kwargs):
        super().__init__(**kwargs)
        self.drop_path_rate = drop_path_rate
        self._seed_offset = kg_random.next_seed()

    def call(self, x, training=None):
        if not training or not self.drop_path_rate:
            return x
        trace = current_trace()
        key = trace.rng() if trace is not None else kg_random.key()
        noise_shape = (None,) + (1,) * (len(x.shape) - 1)
        return dropout_with_key(x, self.drop_path_rate, self._seed_offset, key, noise_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


class LayerScale(Layer):
    """Multiplies its input by a learned per-channel `gamma`, initialized to `init_values`.

    Args:
        init_values: the initial value of every entry of `gamma`.
        projection_dim: the number of channels.
    """

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, _):
        self.gamma = self.add_weight(shape=(self.projection_dim,), initializer=initializers.Constant(self.init_values),
                                     trainable=True)
        self.built = True

    def call(self, x):
        return x * self.gamma

    def get_config(self) -> dict:
        return {**super().get_config(), "init_values": self.init_values, "projection_dim": self.projection_dim}


def ConvNeXtBlock(projection_dim, drop_path_rate=0.0, layer_scale_init_value=1e-6, name=None):
    """Depthwise 7×7 conv, layer norm, an inverted MLP (4× wide, GELU), layer scale, and the residual add."""
    name = name or unique_name("prestem")

    def apply(inputs):
        x = layers.Conv2D(filters=projection_dim, kernel_size=7, padding="same", groups=projection_dim,
                          name=f"{name}_depthwise_conv")(inputs)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm")(x)
        x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=f"{name}_gelu")(x)
        x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim, name=f"{name}_layer_scale")(x)
        if drop_path_rate:
            layer = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")
        else:
            layer = layers.Activation("linear", name=f"{name}_identity")
        return inputs + layer(x)

    return apply


def PreStem(name=None):
    """ImageNet's per-channel normalization of [0, 255] pixels."""
    name = name or unique_name("prestem")

    def apply(x):
        return layers.Normalization(mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
                                    variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
                                    name=f"{name}_prestem_normalization")(x)

    return apply


def Head(num_classes=1000, classifier_activation=None, name=None):
    """The classifier: global average pooling, layer norm, Dense."""
    name = name or unique_name("head")

    def apply(x):
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_head_layernorm")(x)
        return layers.Dense(num_classes, activation=classifier_activation, name=f"{name}_head_dense")(x)

    return apply


def ConvNeXt(depths, projection_dims, drop_path_rate=0.0, layer_scale_init_value=1e-6, default_size=224,
             name="convnext", include_preprocessing=True, include_top=True, weights=None, input_tensor=None,
             input_shape=None, pooling=None, classes=1000, classifier_activation="softmax", weights_name=None):
    """A ConvNeXt with `depths[i]` blocks of `projection_dims[i]` channels in stage i."""
    require_channels_last("ConvNeXt")
    check_weights(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=config.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = image_input(input_tensor, input_shape)
    inputs = img_input if input_tensor is None else source_inputs(input_tensor)[0]
    x = img_input
    if include_preprocessing and input_shape[-1] == 3:
        x = PreStem(name=name)(x)
    stem = Sequential([layers.Conv2D(projection_dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
                       layers.LayerNormalization(epsilon=1e-6, name=f"{name}_stem_layernorm")],
                      name=f"{name}_stem")
    downsample_layers = [stem] + [
        Sequential([layers.LayerNormalization(epsilon=1e-6, name=f"{name}_downsampling_layernorm_{i}"),
                    layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2,
                                  name=f"{name}_downsampling_conv_{i}")],
                   name=f"{name}_downsampling_block_{i}")
        for i in range(3)]
    depth_drop_rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    cur = 0
    for i in range(4):
        x = downsample_layers[i](x)
        for j in range(depths[i]):
            x = ConvNeXtBlock(projection_dim=projection_dims[i], drop_path_rate=depth_drop_rates[cur + j],
                              layer_scale_init_value=layer_scale_init_value, name=f"{name}_stage_{i}_block_{j}")(x)
        cur += depths[i]
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = Head(num_classes=classes, classifier_activation=classifier_activation, name=name)(x)
    else:
        if pooling == "avg":
            x = layers.GlobalAveragePooling2D()(x)
        elif pooling == "max":
            x = layers.GlobalMaxPooling2D()(x)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
    model = Functional(inputs=inputs, outputs=x, name=name)
    if weights == "imagenet":
        expected = MODEL_CONFIGS[weights_name.split("convnext_")[-1]]
        if list(depths) != expected["depths"] or list(projection_dims) != expected["projection_dims"]:
            raise ValueError(f"Architecture configuration does not match {weights_name} variant: pre-trained weights "
                             f"need depths {expected['depths']} (got {list(depths)}) and projection_dims "
                             f"{expected['projection_dims']} (got {list(projection_dims)}).")
        if weights_name not in name:
            raise ValueError(f'Model name "{name}" does not match weights variant "{weights_name}". When using '
                             "imagenet weights, model name must contain the weights variant.")
        file_name = name + (".h5" if include_top else "_notop.h5")
        load_weights(model, weights, file_name, BASE_WEIGHTS_PATH + file_name,
                     WEIGHTS_HASHES[weights_name][0 if include_top else 1])
    else:
        load_weights(model, weights)
    return model


def _variant(size):
    key = f"convnext_{size}"

    def builder(include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
                input_shape=None, pooling=None, classes=1000, classifier_activation="softmax", name=key):
        cfg = MODEL_CONFIGS[size]
        return ConvNeXt(weights_name=key, depths=cfg["depths"], projection_dims=cfg["projection_dims"],
                        drop_path_rate=0.0, layer_scale_init_value=1e-6, default_size=cfg["default_size"], name=name,
                        include_top=include_top, include_preprocessing=include_preprocessing, weights=weights,
                        input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation)

    builder.__name__ = builder.__qualname__ = "ConvNeXt" + {"xlarge": "XLarge"}.get(size, size.capitalize())
    builder.__doc__ = f"Instantiates the {builder.__name__} architecture (inputs: floats in [0, 255]).\n" + _ARGS_DOC
    return builder


ConvNeXtTiny = _variant("tiny")
ConvNeXtSmall = _variant("small")
ConvNeXtBase = _variant("base")
ConvNeXtLarge = _variant("large")
ConvNeXtXLarge = _variant("xlarge")


def preprocess_input(x, data_format=None):
    """A pass-through: ConvNeXt normalizes its inputs itself (`include_preprocessing=True`)."""
    return x


def decode_predictions(preds, top=5):
    """Decodes ImageNet predictions into `(class_name, class_description, score)` tuples, best first."""
    return imagenet_utils.decode_predictions(preds, top=top)
