"""The rest of Keras' neural-network ops: activations, cross-entropies, CTC, RMS normalization, pixel shuffles,
adaptive pooling and patch folding. They compose recorded IR ops, except ctc_loss, which has its own."""

from __future__ import annotations

import builtins
import math

import numpy as np

from kgraph.ops import numpy as knp
from kgraph.ops.array import _tensor, cumsum, get_item, pad, split, take
from kgraph import config
from kgraph.ops.numpy_extra import sort
from kgraph.ir.types import is_float
from kgraph.ops.array import take_along_axis
from kgraph.ops.numpy_extra import argsort
from kgraph.ops.dispatch import apply, dtype_of
from kgraph.ops.nn import log_softmax, one_hot, relu6, sigmoid, softplus

__all__ = [
    "adaptive_average_pool", "adaptive_max_pool", "binary_crossentropy", "categorical_crossentropy", "celu",
    "ctc_decode", "ctc_loss", "depth_to_space", "elu", "fold", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "log_sigmoid", "multi_hot", "polar", "psnr", "rms_normalization",
    "selu", "soft_shrink", "space_to_depth", "sparse_categorical_crossentropy", "sparse_plus", "sparse_sigmoid",
    "sparsemax", "squareplus", "tanh_shrink", "threshold", "unfold",
]

_float = knp._float


def _epsilon() -> float:
    return config.epsilon()


def elu(x, alpha=1.0):
    x = _float(_tensor(x))
    return knp.where(knp.greater(x, 0), x, knp.multiply(knp.expm1(knp.minimum(x, 0.0)), alpha))


def selu(x):
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return knp.multiply(elu(x, alpha), scale)


def celu(x, alpha=1.0):
    x = _float(_tensor(x))
    negative = knp.multiply(knp.expm1(knp.divide(knp.minimum(x, 0.0), float(alpha))), alpha)
    return knp.add(knp.maximum(x, 0.0), knp.minimum(negative, 0.0))


def leaky_relu(x, negative_slope=0.2):
    x = _float(_tensor(x))
    return knp.where(knp.greater_equal(x, 0), x, knp.multiply(x, negative_slope))


def hard_sigmoid(x):
    """relu6(x + 3) / 6."""
    return knp.divide(relu6(knp.add(_float(_tensor(x)), 3.0)), 6.0)


def hard_silu(x):
    """x * hard_sigmoid(x)."""
    x = _float(_tensor(x))
    return knp.multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


def hard_tanh(x):
    return knp.clip(_float(_tensor(x)), -1.0, 1.0)


def hard_shrink(x, threshold=0.5):
    x = _float(_tensor(x))
    return knp.where(knp.greater(knp.abs(x), threshold), x, knp.zeros_like(x))


def soft_shrink(x, threshold=0.5):
    x = _float(_tensor(x))
    return knp.where(knp.greater(x, threshold), knp.subtract(x, threshold),
                     knp.where(knp.less(x, -threshold), knp.add(x, threshold), knp.zeros_like(x)))


def tanh_shrink(x):
    x = _float(_tensor(x))
    return knp.subtract(x, knp.tanh(x))


def threshold(x, threshold, default_value):
    """x where x > threshold, else default_value."""
    x = _tensor(x)
    return knp.where(knp.greater(x, threshold), x, knp.full_like(x, default_value))


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x)."""
    return knp.negative(softplus(knp.negative(_float(_tensor(x)))))


def glu(x, axis=-1):
    """Gated linear unit: a * sigmoid(b), a and b the two halves of x along `axis`."""
    a, b = split(_float(_tensor(x)), 2, axis=axis)
    return knp.multiply(a, sigmoid(b))


def sparse_plus(x):
    """0 for x <= -1, x for x >= 1, (x + 1)**2 / 4 between."""
    x = _float(_tensor(x))
    middle = knp.multiply(knp.square(knp.add(x, 1.0)), 0.25)
    return knp.where(knp.less_equal(x, -1.0), knp.zeros_like(x), knp.where(knp.greater_equal(x, 1.0), x, middle))


def sparse_sigmoid(x):
    """0 for x <= -1, 1 for x >= 1, (x + 1) / 2 between."""
    x = _float(_tensor(x))
    return knp.clip(knp.multiply(knp.add(x, 1.0), 0.5), 0.0, 1.0)


def squareplus(x, b=4):
    """(x + sqrt(x**2 + b)) / 2."""
    x = _float(_tensor(x))
    return knp.multiply(knp.add(x, knp.sqrt(knp.add(knp.square(x), float(b)))), 0.5)


def sparsemax(x, axis=-1):
    """The Euclidean projection of x onto the probability simplex along `axis`."""
    x = _float(_tensor(x))
    rank = knp.ndim(x)
    axis = axis % rank
    ordered = knp.negative(sort(knp.negative(x), axis=axis))
    cumulative = cumsum(ordered, axis=axis)
    r_shape = [1] * rank
    r_shape[axis] = -1
    r = np.arange(1, knp.shape(x)[axis] + 1).reshape(r_shape).astype(dtype_of(x))
    support = knp.greater(knp.subtract(ordered, knp.divide(knp.subtract(cumulative, 1.0), r)), 0.0)
    k = knp.sum(knp.cast(support, dtype_of(x)), axis=axis, keepdims=True)
    tau = knp.divide(knp.subtract(knp.sum(knp.where(support, cumulative, 0.0), axis=axis, keepdims=True), 1.0), k)
    return knp.maximum(knp.subtract(x, tau), 0.0)


def _same_shape(name: str, target, output):
    if tuple(knp.shape(target)) != tuple(knp.shape(output)):
        raise ValueError(f"{name}: target and output must have the same shape, got {knp.shape(target)} and "
                         f"{knp.shape(output)}")


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy between targets and probabilities (or logits)."""
    target, output = _tensor(target), _float(_tensor(output))
    target = knp.cast(target, dtype_of(output))
    _same_shape("binary_crossentropy", target, output)
    if from_logits:
        return knp.subtract(knp.multiply(knp.negative(target), log_sigmoid(output)),
                            knp.multiply(knp.subtract(1.0, target), log_sigmoid(knp.negative(output))))
    eps = _epsilon()
    output = knp.clip(output, eps, 1.0 - eps)
    bce = knp.add(knp.multiply(target, knp.log(output)),
                  knp.multiply(knp.subtract(1.0, target), knp.log(knp.subtract(1.0, output))))
    return knp.negative(bce)


def _log_probabilities(output, from_logits, axis):
    if from_logits:
        return log_softmax(output, axis=axis)
    eps = _epsilon()
    output = knp.divide(output, knp.sum(output, axis=axis, keepdims=True))
    return knp.log(knp.clip(output, eps, 1.0 - eps))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between one-hot (or soft) targets and probabilities (or logits) along `axis`."""
    target, output = _tensor(target), _float(_tensor(output))
    target = knp.cast(target, dtype_of(output))
    _same_shape("categorical_crossentropy", target, output)
    if knp.ndim(target) < 1:
        raise ValueError("categorical_crossentropy: target and output must be at least rank 1")
    return knp.negative(knp.sum(knp.multiply(target, _log_probabilities(output, from_logits, axis)), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between integer class targets and probabilities (or logits) along `axis`."""
    target, output = knp.cast(_tensor(target), "int32"), _float(_tensor(output))
    if knp.ndim(target) == knp.ndim(output) and knp.shape(target)[-1] == 1:
        target = knp.squeeze(target, -1)
    if tuple(knp.shape(target)) != tuple(knp.shape(output)[:-1]):
        raise ValueError(f"sparse_categorical_crossentropy: target must have output's shape up to the last dim, got "
                         f"{knp.shape(target)} and {knp.shape(output)}")
    log_prob = _log_probabilities(output, from_logits, axis)
    labels = one_hot(target, knp.shape(output)[axis], axis=axis, dtype=dtype_of(output))
    return knp.negative(knp.sum(knp.multiply(labels, log_prob), axis=axis))


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Multi-hot encoding: 1 for each class present in a row of integer `inputs`."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if num_classes is None:
        raise ValueError("multi_hot needs num_classes")
    if sparse:
        raise ValueError("multi_hot: sparse=True is not supported; kgraph tensors are dense")
    inputs = _tensor(inputs)
    reduction_axis = 1 if knp.ndim(inputs) > 1 else 0
    encoded = one_hot(knp.cast(inputs, "int32"), int(num_classes), axis=axis, dtype=dtype or config.floatx())
    return knp.max(encoded, axis=reduction_axis)


def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio in dB."""
    x1, x2 = _tensor(x1), _tensor(x2)
    if tuple(knp.shape(x1)) != tuple(knp.shape(x2)):
        raise ValueError(f"psnr: x1 and x2 must have the same shape, got {knp.shape(x1)} and {knp.shape(x2)}")
    x1, x2 = _float(x1), _float(x2)
    mse = knp.mean(knp.square(knp.subtract(x1, x2)))
    log10 = math.log(10.0)
    peak = knp.divide(knp.log(knp.cast(max_val, dtype_of(x2))), log10)
    return knp.subtract(knp.multiply(peak, 20.0), knp.multiply(knp.divide(knp.log(mse), log10), 10.0))


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """x * rsqrt(mean(x**2) + epsilon) * scale, computed in at least float32."""
    x = _tensor(x)
    original = dtype_of(x)
    compute = "float64" if original == "float64" else "float32"
    x = knp.cast(x, compute)
    if knp.ndim(x) == 0:
        x = knp.expand_dims(x, 0)
    eps = _epsilon() if epsilon is None else float(epsilon)
    axis = tuple(sorted(axis)) if isinstance(axis, (tuple, list)) else axis
    rrms = knp.rsqrt(knp.add(knp.mean(knp.square(x), axis=axis, keepdims=True), eps))
    out = knp.multiply(x, rrms)
    if scale is not None:
        out = knp.multiply(out, knp.cast(scale, compute))

    return knp.cast(out, original if is_float(original) else compute)


def _blocks(x, block_size: int, data_format: str, name: str):
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    x = _tensor(x)
    if knp.ndim(x) != 4:
        raise ValueError(f"{name} needs a 4-D tensor, got shape {knp.shape(x)}")
    return x, int(block_size)


def depth_to_space(x, block_size, data_format="channels_last"):
    """Moves channel blocks into block_size x block_size spatial tiles (pixel shuffle)."""
    x, b = _blocks(x, block_size, data_format, "depth_to_space")
    if data_format == "channels_last":
        _, h, w, c = knp.shape(x)
        x = knp.reshape(x, (None, h, w, b, b, c // (b * b)))
        x = knp.transpose(x, (0, 1, 3, 2, 4, 5))
        return knp.reshape(x, (None, h * b, w * b, c // (b * b)))
    _, c, h, w = knp.shape(x)
    x = knp.reshape(x, (None, c // (b * b), b, b, h, w))
    x = knp.transpose(x, (0, 1, 4, 2, 5, 3))
    return knp.reshape(x, (None, c // (b * b), h * b, w * b))


def space_to_depth(x, block_size, data_format="channels_last"):
    """Moves block_size x block_size spatial tiles into channels (pixel unshuffle)."""
    x, b = _blocks(x, block_size, data_format, "space_to_depth")
    if data_format == "channels_last":
        _, h, w, c = knp.shape(x)
        x = knp.reshape(x, (None, h // b, b, w // b, b, c))
        x = knp.transpose(x, (0, 1, 3, 2, 4, 5))
        return knp.reshape(x, (None, h // b, w // b, c * b * b))
    _, c, h, w = knp.shape(x)
    x = knp.reshape(x, (None, c, h // b, b, w // b, b))
    x = knp.transpose(x, (0, 1, 3, 5, 2, 4))
    return knp.reshape(x, (None, c * b * b, h // b, w // b))


def _adaptive_pool(inputs, output_size, data_format, reduce, name: str):
    """Torch-style adaptive pooling: output bin i of an axis of size n covers [floor(i n / k), ceil((i + 1) n / k))."""
    data_format = data_format or config.image_data_format()
    x = _float(_tensor(inputs))
    spatial = knp.ndim(x) - 2
    if spatial not in (1, 2, 3):
        raise ValueError(f"{name} needs 3-D, 4-D or 5-D inputs, got shape {knp.shape(x)}")
    sizes = (output_size,) * spatial if isinstance(output_size, int) else tuple(output_size)
    first = 1 if data_format == "channels_last" else 2
    for offset, out in enumerate(sizes):
        axis = first + offset
        n = knp.shape(x)[axis]
        if n is None:
            raise ValueError(f"{name}: spatial dims must be known, got shape {knp.shape(x)}")
        pieces = []
        for i in range(int(out)):
            lo, hi = (i * n) // out, -((-(i + 1) * n) // out)
            window = get_item(x, (builtins.slice(None),) * axis + (builtins.slice(lo, hi),))
            pieces.append(reduce(window, axis=axis, keepdims=True))
        x = knp.concatenate(pieces, axis=axis)
    return x


def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed output size, bins spread as evenly as the input allows."""
    return _adaptive_pool(inputs, output_size, data_format, knp.mean, "adaptive_average_pool")


def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed output size, bins spread as evenly as the input allows."""
    return _adaptive_pool(inputs, output_size, data_format, knp.max, "adaptive_max_pool")


def _pair(value) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)


def _patch_indices(height, width, kernel_size, dilation, padding, stride):
    """For padded (H', W') images, the flat pixel index of each kernel tap (kh*kw, L) and the padded size."""
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = (_pair(v) for v in (kernel_size, dilation, padding, stride))
    hp, wp = height + 2 * ph, width + 2 * pw
    nh, nw = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    rows = (np.arange(kh)[:, None] * dh)[:, None, :, None] + (np.arange(nh) * sh)[None, None, :, None]
    cols = (np.arange(kw) * dw)[None, :, None, None] + (np.arange(nw) * sw)[None, None, None, :]
    flat = (rows * wp + cols).reshape(kh * kw, nh * nw)
    return flat.astype(np.int32), (hp, wp), (ph, pw)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of an NCHW batch as columns: (N, C*kh*kw, L), as torch.nn.functional.unfold."""
    x = _tensor(x)
    if knp.ndim(x) != 4:
        raise ValueError(f"unfold needs a 4-D (N, C, H, W) tensor, got shape {knp.shape(x)}")
    _, c, h, w = knp.shape(x)
    index, (hp, wp), (ph, pw) = _patch_indices(h, w, kernel_size, dilation, padding, stride)
    if ph or pw:
        x = pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    flat = knp.reshape(x, (None, c, hp * wp))
    patches = take(flat, index, axis=2)
    return knp.reshape(patches, (None, c * index.shape[0], index.shape[1]))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sums columns of blocks back into NCHW images (N, C, H, W), as torch.nn.functional.fold."""
    x = _float(_tensor(x))
    if knp.ndim(x) != 3:
        raise ValueError(f"fold needs a 3-D (N, C*kh*kw, L) tensor, got shape {knp.shape(x)}")
    height, width = _pair(output_size)
    index, (hp, wp), (ph, pw) = _patch_indices(height, width, kernel_size, dilation, padding, stride)
    taps, length = index.shape
    c = knp.shape(x)[1] // taps
    scatter = np.zeros((taps * length, hp * wp), dtype=dtype_of(x))
    scatter[np.arange(taps * length), index.reshape(-1)] = 1
    images = knp.matmul(knp.reshape(x, (None, c, taps * length)), scatter)
    images = knp.reshape(images, (None, c, hp, wp))
    return get_item(images, (builtins.slice(None), builtins.slice(None), builtins.slice(ph, ph + height),
                             builtins.slice(pw, pw + width)))


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """CTC loss per batch entry of logits `output` (batch, time, classes) against int `target` labels."""
    output = _float(_tensor(output))
    if dtype_of(output) in ("float16", "bfloat16"):
        output = knp.cast(output, "float32")
    return apply("ctc_loss", knp.cast(_tensor(target), "int32"), output, knp.cast(_tensor(target_length), "int32"),
                 knp.cast(_tensor(output_length), "int32"), mask_index=int(mask_index))


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1, merge_repeated=True,
               mask_index=0):
    """Greedy CTC decoding: the best class per step, repeats merged, blanks dropped and padded with -1 at the end.

    Returns (decoded of shape (1, batch, time), negative summed scores of shape (batch, 1)), as Keras.
    """
    if strategy != "greedy":
        raise ValueError(f"ctc_decode: kgraph implements strategy='greedy', got {strategy!r}")
    x = _float(_tensor(inputs))
    lengths = knp.cast(_tensor(sequence_lengths), "int32")
    _, steps, classes = knp.shape(x)
    mask_index = classes - 1 if mask_index is None else int(mask_index)
    indices = knp.argmax(x, axis=-1)
    scores = knp.max(x, axis=-1)
    beyond = knp.greater_equal(np.arange(steps, dtype=np.int32)[None, :], knp.expand_dims(lengths, -1))
    indices = knp.where(beyond, mask_index, indices)
    scores = knp.where(beyond, 0.0, scores)
    if merge_repeated:
        same = knp.equal(get_item(indices, (builtins.slice(None), builtins.slice(1, None))),
                         get_item(indices, (builtins.slice(None), builtins.slice(None, -1))))
        same = pad(same, ((0, 0), (1, 0)))
        indices = knp.where(same, mask_index, indices)
    invalid = knp.equal(indices, mask_index)
    indices = knp.where(invalid, -1, indices)
    order = knp.where(invalid, steps, knp.add(knp.zeros_like(indices), np.arange(steps, dtype=np.int32)))
    indices = take_along_axis(indices, argsort(order, axis=-1), axis=-1)
    return knp.expand_dims(indices, 0), knp.expand_dims(knp.negative(knp.sum(scores, axis=1)), -1)


def polar(abs_, angle):
    """Complex numbers from magnitude and angle: kgraph tensors are real, so this raises."""
    raise TypeError("polar builds complex tensors, which kgraph does not have; use abs_ * cos(angle) and "
                    "abs_ * sin(angle) as the real and imaginary parts")
