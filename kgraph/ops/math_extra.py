"""Keras' math ops: Fourier transforms and STFT on (real, imaginary) pairs, framing, segment reductions, top-k,
scatter and slice updates, and log-determinants."""

from __future__ import annotations

import builtins

import numpy as np

from kgraph.ir.types import is_float, is_int
from kgraph.ops import numpy as knp
from kgraph.ops.array import _tensor, get_item, pad, take
from kgraph.ops.dispatch import apply, convert, dtype_of, is_symbolic, promote, unwrap
from kgraph.ops.nn import one_hot
from kgraph.ops.array import take_along_axis
from kgraph.ops.numpy_extra import isnan
from kgraph.ops.linalg import slogdet
from kgraph.ops.numpy_extra import is_concrete

__all__ = [
    "extract_sequences", "fft", "fft2", "ifft2", "in_top_k", "irfft", "istft", "logdet", "rfft", "scatter",
    "scatter_update", "segment_max", "segment_min", "segment_prod", "segment_sum", "slice_update", "stft", "top_k",
]

_float = knp._float


def _complex_pair(x, name: str):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{name}: x must be a (real, imaginary) pair of tensors, got {type(x).__name__}")
    real, imag = promote(_float(_tensor(x[0])), _float(_tensor(x[1])))
    if tuple(knp.shape(real)) != tuple(knp.shape(imag)):
        raise ValueError(f"{name}: real and imaginary parts need one shape, got {knp.shape(real)} and "
                         f"{knp.shape(imag)}")
    return real, imag


def fft(x):
    """FFT over the last axis of a (real, imaginary) pair; returns the pair of the result."""
    return tuple(apply("fft", *_complex_pair(x, "fft"), rank=1, inverse=False))


def fft2(x):
    """FFT over the last two axes of a (real, imaginary) pair."""
    return tuple(apply("fft", *_complex_pair(x, "fft2"), rank=2, inverse=False))


def ifft2(x):
    """Inverse FFT over the last two axes of a (real, imaginary) pair."""
    return tuple(apply("fft", *_complex_pair(x, "ifft2"), rank=2, inverse=True))


def rfft(x, fft_length=None):
    """FFT of a real signal over its last axis: the (real, imaginary) pair of the non-negative frequencies."""
    return tuple(apply("rfft", _float(_tensor(x)), fft_length=None if fft_length is None else int(fft_length)))


def irfft(x, fft_length=None):
    """The real signal whose rfft is the (real, imaginary) pair x."""
    return apply("irfft", *_complex_pair(x, "irfft"), fft_length=None if fft_length is None else int(fft_length))


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of `sequence_length` samples every `sequence_stride` along the last axis: (..., frames, length)."""
    x = _tensor(x)
    size = knp.shape(x)[-1]
    if size is None:
        raise ValueError(f"extract_sequences: the last axis of shape {knp.shape(x)} must be known")
    frames = 1 + (size - int(sequence_length)) // int(sequence_stride)
    index = np.arange(frames)[:, None] * int(sequence_stride) + np.arange(int(sequence_length))[None, :]
    return take(x, index.astype(np.int32), axis=-1)


def _window(window, sequence_length: int, fft_length: int, dtype: str):
    """The analysis window, zero-padded in the middle of fft_length samples (periodic Hann/Hamming by name)."""
    if window is None:
        win = np.ones(sequence_length)
    elif isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f"window must be 'hann', 'hamming', a tensor or None, got {window!r}")
        n = np.arange(sequence_length)
        a = 0.5 if window == "hann" else 0.54
        win = a - (1 - a) * np.cos(2 * np.pi * n / sequence_length)
    else:
        win = np.asarray(unwrap(window), dtype=np.float64)
        if win.shape != (sequence_length,):
            raise ValueError(f"window must have shape ({sequence_length},), got {win.shape}")
    left = (fft_length - sequence_length) // 2
    return np.pad(win, (left, fft_length - sequence_length - left)).astype(dtype)


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform over the last axis: a (real, imaginary) pair of shape (..., frames, bins)."""
    x = _tensor(x)
    if dtype_of(x) not in ("float32", "float64"):
        raise TypeError(f"stft needs a float32 or float64 signal, got {dtype_of(x)}")
    if fft_length < sequence_length:
        raise ValueError(f"stft: fft_length ({fft_length}) must be at least sequence_length ({sequence_length})")
    if center:
        widths = [(0, 0)] * (knp.ndim(x) - 1) + [(fft_length // 2, fft_length // 2)]
        x = pad(x, widths, mode="reflect")
    frames = extract_sequences(x, int(fft_length), int(sequence_stride))
    frames = knp.multiply(frames, _window(window, int(sequence_length), int(fft_length), dtype_of(x)))
    return rfft(frames, int(fft_length))


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann", center=True):
    """Inverse STFT: overlap-adds the windowed inverse transforms and divides by the summed squared window."""
    real, imag = _complex_pair(x, "istft")
    if knp.ndim(real) < 2:
        raise ValueError(f"istft needs x of rank >= 2 (frames, bins), got shape {knp.shape(real)}")
    dtype = dtype_of(real)
    frames = knp.shape(real)[-2]
    win = _window(window, int(sequence_length), int(fft_length), dtype)
    signal = knp.multiply(irfft((real, imag), int(fft_length)), win)
    total = int(fft_length) + int(sequence_stride) * (frames - 1)
    position = (np.arange(frames)[:, None] * int(sequence_stride) + np.arange(int(fft_length))[None, :]).reshape(-1)
    overlap = np.zeros((frames * int(fft_length), total), dtype=dtype)
    overlap[np.arange(frames * int(fft_length)), position] = 1
    lead = tuple(knp.shape(signal)[:-2])
    added = knp.matmul(knp.reshape(signal, lead + (frames * int(fft_length),)), overlap)
    norm = np.zeros(total)
    np.add.at(norm, position, np.tile(win.astype(np.float64) ** 2, frames))
    added = knp.divide(added, np.where(norm > 1e-10, norm, 1.0).astype(dtype))
    start = int(fft_length) // 2 if center else 0
    if length is not None:
        end = start + int(length)
    elif center:
        end = total - int(fft_length) // 2
    else:
        end = total
    return get_item(added, (Ellipsis, builtins.slice(start, end)))


def _segment_count(segment_ids, num_segments) -> int:
    if num_segments is not None:
        return int(num_segments)
    if not is_concrete(segment_ids):
        raise ValueError("segment ops on symbolic or traced tensors need num_segments: the number of segments must "
                         "be static")
    return int(np.max(np.asarray(unwrap(segment_ids)), initial=-1)) + 1


def _segment_mask(data, segment_ids, num_segments):
    """(num_segments, n, 1, …): whether data row i belongs to segment s, broadcast over data's trailing axes."""
    ids = knp.cast(_tensor(segment_ids), "int32")
    mask = knp.transpose(one_hot(ids, _segment_count(segment_ids, num_segments), dtype="bool"))
    for _ in range(knp.ndim(data) - 1):
        mask = knp.expand_dims(mask, -1)
    return mask


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    """Sums of the rows of `data` that share a segment id (0 for empty segments)."""
    data = _tensor(data)
    mask = _segment_mask(data, segment_ids, num_segments)
    return knp.sum(knp.where(mask, knp.expand_dims(data, 0), knp.zeros_like(data)), axis=1)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    """Products of the rows of `data` that share a segment id (1 for empty segments)."""
    data = _tensor(data)
    mask = _segment_mask(data, segment_ids, num_segments)
    return knp.prod(knp.where(mask, knp.expand_dims(data, 0), knp.ones_like(data)), axis=1)


def _lowest(dtype: str, largest: bool):
    if is_float(dtype):
        return -np.inf if largest else np.inf
    info = np.iinfo(dtype)
    return int(info.min if largest else info.max)


def segment_max(data, segment_ids, num_segments=None, sorted=False):
    """Maxima of the rows of `data` that share a segment id (the dtype's lowest value for empty segments)."""
    data = _tensor(data)
    mask = _segment_mask(data, segment_ids, num_segments)
    return knp.max(knp.where(mask, knp.expand_dims(data, 0), _lowest(dtype_of(data), True)), axis=1)


def segment_min(data, segment_ids, num_segments=None, sorted=False):
    """Minima of the rows of `data` that share a segment id (the dtype's highest value for empty segments)."""
    data = _tensor(data)
    mask = _segment_mask(data, segment_ids, num_segments)
    return knp.min(knp.where(mask, knp.expand_dims(data, 0), _lowest(dtype_of(data), False)), axis=1)


def top_k(x, k, sorted=True):
    """The k largest values along the last axis (largest first) and their int32 indices."""
    values, indices = apply("top_k", _tensor(x), k=int(k), sorted=bool(sorted))
    return values, indices


def in_top_k(targets, predictions, k):
    """Whether each target class is among the k highest predictions of its row (NaN scores count as lowest)."""
    predictions = _tensor(predictions)
    at_label = take_along_axis(predictions, knp.expand_dims(knp.cast(_tensor(targets), "int32"), -1), axis=-1)
    at_label = knp.where(isnan(at_label), -np.inf, at_label)
    rank = knp.add(knp.sum(knp.cast(knp.greater(predictions, at_label), "int32"), axis=-1), 1)
    return knp.less_equal(rank, int(k))


def logdet(x):
    """log(det(x)) of positive-definite matrices, through slogdet."""
    return slogdet(x)[1]


def _indices(indices):
    indices = _tensor(indices)
    return indices if is_int(dtype_of(indices)) else convert(indices, "int32")


_REDUCTIONS = {None: None, "add": "add", "mul": "mul", "multiply": "mul", "max": "max", "min": "min"}


def scatter_update(inputs, indices, updates, reduction=None):
    """`inputs` with `updates` written at the index tuples in the last axis of `indices` (or combined by
    `reduction`: "add", "mul", "max", "min")."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"scatter_update: reduction must be one of {sorted(map(str, _REDUCTIONS))}, got {reduction!r}")
    inputs = _tensor(inputs)
    updates = knp.cast(_tensor(updates), dtype_of(inputs))
    return apply("scatter_update", inputs, _indices(indices), updates, reduction=_REDUCTIONS[reduction])


def scatter(indices, values, shape):
    """A zero tensor of `shape` with `values` added at the index tuples of `indices` (duplicates summed)."""
    values = _tensor(values)
    dims = tuple(int(d) for d in shape)
    return apply("scatter_update", knp.cast(np.zeros(dims), dtype_of(values)), _indices(indices), values,
                 reduction="add")


def slice_update(inputs, start_indices, updates):
    """`inputs` with the block at `start_indices` (static ints) replaced by `updates`."""
    inputs = _tensor(inputs)
    updates = knp.cast(_tensor(updates), dtype_of(inputs))
    dims, block = knp.shape(inputs), knp.shape(updates)
    starts = [int(unwrap(s)) if not is_symbolic(unwrap(s)) else None for s in start_indices]
    if None in starts or None in dims or None in block or len(starts) != len(dims):
        raise ValueError(f"slice_update needs static start_indices (one per axis) and known shapes, got "
                         f"start_indices={start_indices}, inputs {dims}, updates {block}")
    widths = [(s, d - s - b) for s, d, b in zip(starts, dims, block)]
    if builtins.any(lo < 0 or hi < 0 for lo, hi in widths):
        raise ValueError(f"slice_update: updates of shape {block} at {starts} do not fit inputs of shape {dims}")
    mask = np.zeros(dims, dtype=bool)
    mask[tuple(builtins.slice(s, s + b) for s, b in zip(starts, block))] = True
    return knp.where(mask, pad(updates, widths), inputs)
