"""Convolution and pooling ops with `keras.ops`' signatures; channels_last (NHWC) unless data_format says otherwise."""

from __future__ import annotations

import operator
from typing import Sequence, Union

from kgraph.ir.ops.convolution import join_layout, split_layout, window_output_dim
from kgraph.ops.dispatch import apply, convert, dtype_of
from kgraph.ops.numpy import _float, reshape, shape
from kgraph import config

__all__ = ["average_pool", "conv", "conv_transpose", "depthwise_conv", "max_pool", "separable_conv"]

Ints = Union[int, Sequence[int]]


def normalize_tuple(value, rank: int, name: str) -> tuple[int, ...]:
    """An int or `rank` ints as a tuple of `rank` positive ints; raises ValueError naming `name` otherwise."""
    values = (value,) * rank if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        values = tuple(operator.index(v) for v in values)
    except TypeError:
        values = None
    if values is None or len(values) != rank or any(v < 1 for v in values):
        raise ValueError(f"The `{name}` argument must be a positive int or a tuple of {rank} positive ints. "
                         f"Received: {name}={value!r}")
    return values


def normalize_padding(padding, allow_causal: bool = False) -> str:
    """"valid", "same" (any case), and "causal" where `allow_causal`."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    value = padding.lower() if isinstance(padding, str) else padding
    if value not in allowed:
        raise ValueError(f"The `padding` argument must be one of {allowed}. Received: padding={padding!r}")
    return value


def normalize_data_format(data_format) -> str:
    """None means `kgraph.config.image_data_format()`."""
    value = config.image_data_format() if data_format is None else str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError("The `data_format` argument must be one of 'channels_last', 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    return value


def conv_output_shape(input_shape, filters, kernel_size, strides, padding, dilation_rate, data_format) -> tuple:
    """The output shape (None for unknown dims) of a convolution or pooling; ValueError where a window does not fit.

    Args:
        input_shape: the input's shape, batch first.
        filters: the output's channels (for pooling, the input's).
        kernel_size, strides, dilation_rate: one int per spatial dim.
        padding: "valid", "same" or "causal".
        data_format: "channels_last" or "channels_first".
    """
    batch, spatial, _ = split_layout(tuple(input_shape), data_format)
    out = []
    for i, (size, k, s, d) in enumerate(zip(spatial, kernel_size, strides, dilation_rate)):
        window = (k - 1) * d + 1
        dim = window_output_dim(size, window, s, ((window - 1, 0) if padding == "causal" else padding))
        if dim is not None and dim <= 0:
            raise ValueError(f"a window of {tuple(kernel_size)} (dilation_rate={tuple(dilation_rate)}) does not fit "
                             f"spatial dim {i} of the input of shape {tuple(input_shape)} with padding={padding!r}")
        out.append(dim)
    return join_layout(batch, out, filters, data_format)


def _spatial_rank(inputs, name: str) -> int:
    rank = len(shape(inputs)) - 2
    if rank < 1:
        raise ValueError(f"{name} needs inputs of rank >= 3 (batch, spatial dims, channels), got shape {shape(inputs)}")
    return rank


def _as_kernel_dtype(inputs, kernel):
    """The kernel as floats and the inputs cast to its dtype, as Keras does."""
    kernel = _float(kernel)
    return convert(inputs, dtype_of(kernel)), kernel


def _grouped_conv(inputs, kernel, strides, padding, data_format, dilation_rate, groups: int):
    """The "conv" op after the arguments are normalized; causal padding becomes explicit (before, 0) zeros."""
    rank = _spatial_rank(inputs, "conv")
    strides = normalize_tuple(strides, rank, "strides")
    dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate")
    padding = normalize_padding(padding, allow_causal=rank == 1)
    if padding == "causal":
        padding = ((dilation_rate[0] * (shape(kernel)[0] - 1), 0),)
    return apply("conv", inputs, kernel, strides=strides, padding=padding, dilation_rate=dilation_rate, groups=groups,
                 data_format=data_format)


def conv(inputs, kernel, strides: Ints = 1, padding: str = "valid", data_format: str | None = None,
         dilation_rate: Ints = 1):
    """N-d cross-correlation with a `(*kernel_size, in_channels // groups, filters)` kernel (groups inferred); 1-D
    also takes padding="causal" (zeros before the sequence only, as Keras' Conv1D layer pads)."""
    inputs, kernel = _as_kernel_dtype(inputs, kernel)
    data_format = normalize_data_format(data_format)
    kernel_shape = shape(kernel)
    channels = split_layout(shape(inputs), data_format)[2] if len(shape(inputs)) > 2 else None
    groups = 1
    if channels is not None:
        if len(kernel_shape) < 2 or channels % kernel_shape[-2]:
            raise ValueError(f"conv: the input's {channels} channels must be a multiple of the kernel's in_channels "
                             f"(kernel.shape[-2]); input shape {shape(inputs)}, kernel shape {kernel_shape}")
        groups = channels // kernel_shape[-2]
    return _grouped_conv(inputs, kernel, strides, padding, data_format, dilation_rate, groups)


def depthwise_conv(inputs, kernel, strides: Ints = 1, padding: str = "valid", data_format: str | None = None,
                   dilation_rate: Ints = 1):
    """Each channel convolved with its own filters, kernel `(*kernel_size, in, multiplier)`: a grouped convolution
    with one group per channel, which is how XLA and ONNX (Conv with group=C) run it."""
    inputs, kernel = _as_kernel_dtype(inputs, kernel)
    data_format = normalize_data_format(data_format)
    _spatial_rank(inputs, "depthwise_conv")
    *window, in_channels, multiplier = shape(kernel)
    channels = split_layout(shape(inputs), data_format)[2]
    if channels is not None and channels != in_channels:
        raise ValueError(f"depthwise_conv: the input has {channels} channels, the kernel takes {in_channels}; "
                         f"input shape {shape(inputs)}, kernel shape {shape(kernel)} (*kernel_size, in, multiplier)")
    grouped = reshape(kernel, (*window, 1, in_channels * multiplier))
    return _grouped_conv(inputs, grouped, strides, normalize_padding(padding), data_format, dilation_rate,
                         in_channels)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides: Ints = 1, padding: str = "valid",
                   data_format: str | None = None, dilation_rate: Ints = 1):
    """A depthwise convolution followed by a 1x1 (pointwise) convolution that mixes the channels."""
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format)


def conv_transpose(inputs, kernel, strides: Ints = 1, padding: str = "valid", output_padding: Ints | None = None,
                   data_format: str | None = None, dilation_rate: Ints = 1):
    """Transposed convolution (the gradient of `conv`) with a `(*kernel_size, filters, in_channels)` kernel, sized
    as Keras sizes it: `(size - 1) * stride + max(window, stride)` for "valid", `size * stride` for "same"."""
    inputs, kernel = _as_kernel_dtype(inputs, kernel)
    data_format = normalize_data_format(data_format)
    rank = _spatial_rank(inputs, "conv_transpose")
    strides = normalize_tuple(strides, rank, "strides")
    if output_padding is not None:
        output_padding = tuple(operator.index(p) for p in
                               ((output_padding,) * rank if isinstance(output_padding, int) else output_padding))
    return apply("conv_transpose", inputs, kernel, strides=strides, padding=normalize_padding(padding),
                 output_padding=output_padding, dilation_rate=normalize_tuple(dilation_rate, rank, "dilation_rate"),
                 data_format=data_format)


def _pool(op: str, inputs, pool_size, strides, padding, data_format):
    inputs = _float(inputs)
    rank = _spatial_rank(inputs, op)
    pool_size = normalize_tuple(pool_size, rank, "pool_size")
    strides = pool_size if strides is None else normalize_tuple(strides, rank, "strides")
    return apply(op, inputs, pool_size=pool_size, strides=strides, padding=normalize_padding(padding),
                 data_format=normalize_data_format(data_format))


def max_pool(inputs, pool_size: Ints, strides: Ints | None = None, padding: str = "valid",
             data_format: str | None = None):
    """Maximum over each `pool_size` window, moved by `strides` (default: `pool_size`)."""
    return _pool("max_pool", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs, pool_size: Ints, strides: Ints | None = None, padding: str = "valid",
                 data_format: str | None = None):
    """Mean over each `pool_size` window; with "same" padding only the input's elements are counted."""
    return _pool("average_pool", inputs, pool_size, strides, padding, data_format)
