"""ImageNet helpers shared by the applications: input preprocessing, decoding predictions, input-shape checks."""

from __future__ import annotations

import json
import warnings

import numpy as np

from kgraph import activations, config, ops
from kgraph.applications.weights import fetch

CLASS_INDEX = None
CLASS_INDEX_PATH = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
_CAFFE_MEAN = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def preprocess_input(x, data_format: str | None = None, mode: str = "caffe"):
    """Preprocesses a batch of images (values in [0, 255]) the way an ImageNet model was trained.

    Args:
        x: a float NumPy array (modified in place where its dtype allows) or a tensor, 3D or 4D with 3 channels.
        data_format: "channels_last" or "channels_first"; None means `kgraph.config.image_data_format()`.
        mode: "caffe" (RGB to BGR, then each channel zero-centred), "tf" (scaled to [-1, 1]) or "torch"
            (scaled to [0, 1], then each channel normalized with ImageNet's mean and std).

    Returns:
        The preprocessed float array or tensor.
    """
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError(f"Expected mode to be one of `caffe`, `tf` or `torch`. Received: mode={mode}")
    if data_format is None:
        data_format = config.image_data_format()
    elif data_format not in {"channels_first", "channels_last"}:
        raise ValueError("Expected data_format to be one of `channels_first` or `channels_last`. "
                         f"Received: data_format={data_format}")
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, data_format, mode)
    return _preprocess_tensor(x, data_format, mode)


def _channel_shape(ndim: int, data_format: str) -> tuple[int, ...]:
    """The shape that broadcasts a per-channel vector over an image (batch) of `ndim` dims."""
    if data_format == "channels_first":
        return (3, 1, 1) if ndim == 3 else (1, 3) + (1,) * (ndim - 2)
    return (1,) * (ndim - 1) + (3,)


def _preprocess_numpy(x: np.ndarray, data_format: str, mode: str) -> np.ndarray:
    if not issubclass(x.dtype.type, np.floating):
        x = x.astype(config.floatx(), copy=False)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    if mode == "torch":
        x /= 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        channel_axis = (0 if x.ndim == 3 else 1) if data_format == "channels_first" else -1
        x = np.flip(x, axis=channel_axis)
        mean, std = _CAFFE_MEAN, None
    shape = _channel_shape(x.ndim, data_format)
    x -= np.asarray(mean, x.dtype).reshape(shape)
    if std is not None:
        x /= np.asarray(std, x.dtype).reshape(shape)
    return x


def _preprocess_tensor(x, data_format: str, mode: str):
    x = ops.convert_to_tensor(x)
    ndim = len(x.shape)
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        x = x / 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        if data_format == "channels_first":
            axis = 0 if ndim == 3 else 1
        else:
            axis = ndim - 1
        x = ops.take(x, [2, 1, 0], axis=axis)
        mean, std = _CAFFE_MEAN, None
    shape = _channel_shape(ndim, data_format)
    x = x - ops.reshape(ops.convert_to_tensor(np.asarray(mean), dtype=x.dtype), shape)
    if std is not None:
        x = x / ops.reshape(ops.convert_to_tensor(np.asarray(std), dtype=x.dtype), shape)
    return x


def decode_predictions(preds, top: int = 5) -> list[list[tuple]]:
    """Decodes a batch of ImageNet predictions into `(class_name, class_description, score)` tuples.

    Args:
        preds: a `(samples, 1000)` array of class scores.
        top: how many of the best guesses to return per sample.

    Returns:
        One list of `top` tuples per sample, best first.
    """
    global CLASS_INDEX
    shape = tuple(np.shape(preds))
    if len(shape) != 2 or shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D array of shape "
                         f"(samples, 1000)). Received array with shape: {shape}")
    if CLASS_INDEX is None:
        path = fetch("imagenet_class_index.json", CLASS_INDEX_PATH, "c2c37ea517e94d9795004a39431a14cb")
        with open(path) as f:
            CLASS_INDEX = json.load(f)
    results = []
    for pred in np.asarray(ops.convert_to_numpy(preds)):
        best = pred.argsort()[-top:][::-1]
        results.append(sorted((tuple(CLASS_INDEX[str(i)]) + (pred[i],) for i in best), key=lambda r: r[2],
                              reverse=True))
    return results


def obtain_input_shape(input_shape, default_size: int, min_size: int, data_format: str, require_flatten: bool,
                       weights=None) -> tuple:
    """The model's input shape: `input_shape` checked against the architecture, or its default."""
    channels_first = data_format == "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if channels_first else input_shape[-1]
        if channels not in {1, 3}:
            warnings.warn("This model usually expects 1 or 3 input channels. However, it was passed an input_shape "
                          f"with {channels} input channels.", stacklevel=3)
        default_shape = (channels, default_size, default_size) if channels_first else (
            default_size, default_size, channels)
    else:
        default_shape = (3, default_size, default_size) if channels_first else (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError("When setting `include_top=True` and loading `imagenet` weights, `input_shape` should "
                             f"be {default_shape}.  Received: input_shape={input_shape}")
        return default_shape
    if input_shape:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"`input_shape` must be a tuple of three integers. Received: input_shape={input_shape}")
        channels, rows, cols = ((input_shape[0],) + input_shape[1:]) if channels_first else (
            (input_shape[2],) + input_shape[:2])
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received `input_shape={input_shape}`")
        if (rows is not None and rows < min_size) or (cols is not None and cols < min_size):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if channels_first else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static `input_shape`. "
                         f"Received: input_shape={input_shape}")
    return input_shape


def correct_pad(inputs, kernel_size) -> tuple[tuple[int, int], tuple[int, int]]:
    """The ZeroPadding2D padding that makes a stride-2 'valid' convolution match TensorFlow's 'same'."""
    first = 2 if config.image_data_format() == "channels_first" else 1
    size = inputs.shape[first:first + 2]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return (correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1])


def validate_activation(classifier_activation, weights) -> None:
    """Pretrained weights come with a softmax (or no) classifier activation; anything else is refused."""
    if weights is None:
        return
    if activations.get(classifier_activation) not in {activations.get("softmax"), activations.get(None)}:
        raise ValueError("Only `None` and `softmax` activations are allowed for the `classifier_activation` argument "
                         "when using pretrained weights, with `include_top=True`; Received: "
                         f"classifier_activation={classifier_activation}")
