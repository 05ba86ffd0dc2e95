"""Sliding-window ops: N-d convolution, transposed convolution, max and average pooling.

Tensors are `(batch, *spatial, channels)` for data_format="channels_last" and `(batch, channels, *spatial)` for
"channels_first"; kernels keep Keras' layout. The window arithmetic below is shared with the lowering rules.
"""

from __future__ import annotations

from typing import Sequence

from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.traits import DATA_FORMAT, LAYOUT_TRANSPARENT
from kgraph.ir.types import Dim, TensorType, is_float

WINDOW = frozenset({DATA_FORMAT, LAYOUT_TRANSPARENT})

DATA_FORMATS = ("channels_last", "channels_first")


def split_layout(shape: Sequence, data_format: str) -> tuple:
    """`(batch, spatial_dims, channels)` of a shape in `data_format`."""
    if data_format == "channels_last":
        return shape[0], tuple(shape[1:-1]), shape[-1]
    return shape[0], tuple(shape[2:]), shape[1]


def join_layout(batch, spatial: Sequence, channels, data_format: str) -> tuple:
    """The inverse of `split_layout`."""
    if data_format == "channels_last":
        return (batch, *spatial, channels)
    return (batch, channels, *spatial)


def window_output_dim(size: Dim | None, window: int, stride: int, padding) -> Dim | None:
    """Output length of a `window`-wide, `stride`-strided scan over `size` (int, symbol or None); padding is
    "valid", "same" (ceil(size / stride)) or `(before, after)`. A static result <= 0 means the window does not fit."""
    if size is None:
        return None
    if padding == "same":
        if isinstance(size, int):
            return -(-size // stride)
        return size if stride == 1 else f"ceil({size}/{stride})"
    before, after = (0, 0) if padding == "valid" else padding
    if isinstance(size, int):
        return (size + before + after - window) // stride + 1
    if stride == 1:
        grow = before + after + 1 - window
        return size if grow == 0 else f"{size}{grow:+d}"
    offset = before + after - window
    return f"({size}{offset:+d})//{stride}+1" if offset else f"{size}//{stride}+1"


def same_pads(size: int, window: int, stride: int) -> tuple[int, int]:
    """The explicit `(before, after)` of "same" padding, the odd element after, as TensorFlow and XLA pad."""
    total = max((-(-size // stride) - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def conv_transpose_crops(kernel_size: Sequence[int], strides: Sequence[int], dilation_rate: Sequence[int],
                         padding: str, output_padding: Sequence[int] | None) -> tuple[tuple[int, int], ...]:
    """Per spatial dim, `(before, after)` cut from the full `(size - 1) * stride + window` output to give Keras'
    size ("valid": `(size - 1) * stride + max(window, stride)`, "same": `size * stride`); negative appends zeros."""
    crops = []
    for i, (k, s, d) in enumerate(zip(kernel_size, strides, dilation_rate)):
        window = (k - 1) * d + 1
        extra = None if output_padding is None else output_padding[i]
        if padding == "valid":
            before, after = 0, -(max(window, s) - window if extra is None else extra)
        else:
            total = s + window - 2 if extra is None else window + window % 2 - 2 + extra
            pad_before = min(total - total // 2, window - 1)
            before, after = window - 1 - pad_before, window - 1 - (total - pad_before)
        crops.append((before, after))
    return tuple(crops)


def _check_layout(op: str, x: TensorType, data_format: str, sizes: dict[str, Sequence]) -> int:
    """The number of spatial dims of `x`, after checking the rank, dtype, data_format and per-dim attributes."""
    if data_format not in DATA_FORMATS:
        raise ShapeError(f"{op}: data_format must be one of {DATA_FORMATS}, got {data_format!r}")
    if not is_float(x.dtype):
        raise ShapeError(f"{op} needs a floating-point input, got {x.dtype}")
    rank = x.rank - 2
    if rank < 1:
        raise ShapeError(f"{op} needs an input of rank >= 3 (batch, spatial dims, channels), got shape {x.shape}")
    for name, values in sizes.items():
        if len(values) != rank or any(not isinstance(v, int) or v < 1 for v in values):
            raise ShapeError(f"{op}: {name} must be {rank} positive ints for an input of shape {x.shape}, "
                             f"got {values!r}")
    return rank


def _check_padding(op: str, padding, rank: int, explicit: bool) -> None:
    """"valid" and "same" are always allowed; explicit `(before, after)` pairs only where `explicit`."""
    if padding in ("valid", "same"):
        return
    if (not explicit or not isinstance(padding, (tuple, list)) or len(padding) != rank
            or any(len(p) != 2 or any(not isinstance(v, int) or v < 0 for v in p) for p in padding)):
        expected = f"'valid', 'same' or {rank} pairs (before, after) of ints >= 0" if explicit else "'valid' or 'same'"
        raise ShapeError(f"{op}: padding must be {expected}, got {padding!r}")


def _spatial_output(op: str, x: TensorType, kernel: TensorType | None, spatial, windows, strides, padding):
    out = []
    for i, (size, window, stride) in enumerate(zip(spatial, windows, strides)):
        dim = window_output_dim(size, window, stride, padding if isinstance(padding, str) else padding[i])
        if isinstance(dim, int) and dim <= 0:
            what = f"kernel of shape {kernel.shape}" if kernel is not None else f"window of {window}"
            raise ShapeError(f"{op}: a {what} (spanning {window} with dilation) does not fit spatial dim {i} of "
                             f"an input of shape {x.shape} with padding={padding!r}")
        out.append(dim)
    return out


def _kernel_dims(op: str, x: TensorType, kernel: TensorType) -> tuple[int, ...]:
    if kernel.rank != x.rank or not kernel.is_static:
        raise ShapeError(f"{op}: the kernel must have the input's rank and a static shape; input {x.shape}, "
                         f"kernel {kernel.shape}")
    if kernel.dtype != x.dtype:
        raise ShapeError(f"{op} needs input and kernel of one dtype, got {x.dtype} and {kernel.dtype}")
    return kernel.shape


def _conv(types, strides, padding, dilation_rate, groups, data_format):
    x, kernel = types
    rank = _check_layout("conv", x, data_format, {"strides": strides, "dilation_rate": dilation_rate})
    _check_padding("conv", padding, rank, explicit=True)
    *window, group_channels, filters = _kernel_dims("conv", x, kernel)
    batch, spatial, channels = split_layout(x.shape, data_format)
    if not isinstance(groups, int) or groups < 1 or filters % groups:
        raise ShapeError(f"conv: groups={groups!r} must be a positive int dividing the kernel's {filters} filters "
                         f"(kernel shape {kernel.shape})")
    if isinstance(channels, int) and channels != group_channels * groups:
        raise ShapeError(f"conv: an input of shape {x.shape} ({data_format}) has {channels} channels; a kernel of "
                         f"shape {kernel.shape} with groups={groups} takes {group_channels * groups}")
    windows = [(k - 1) * d + 1 for k, d in zip(window, dilation_rate)]
    out = _spatial_output("conv", x, kernel, spatial, windows, strides, padding)
    return [TensorType(x.dtype, join_layout(batch, out, filters, data_format))]


register("conv", _conv, attrs={"strides": REQUIRED, "padding": "valid", "dilation_rate": REQUIRED, "groups": 1,
                               "data_format": "channels_last"}, num_inputs=2, traits=WINDOW,
         doc="N-d cross-correlation with a (*kernel_size, in_channels // groups, filters) kernel; padding is "
             "'valid', 'same' or explicit (before, after) pairs")


def _transposed_dim(size: Dim, stride: int, length: int) -> Dim:
    """`(size - 1) * stride + length`, as an int or a symbol."""
    if isinstance(size, int):
        return (size - 1) * stride + length
    if stride == length:
        return size if stride == 1 else f"{size}*{stride}"
    return f"({size}-1)*{stride}+{length}"


def _conv_transpose(types, strides, padding, output_padding, dilation_rate, data_format):
    x, kernel = types
    rank = _check_layout("conv_transpose", x, data_format, {"strides": strides, "dilation_rate": dilation_rate})
    _check_padding("conv_transpose", padding, rank, explicit=False)
    if output_padding is not None and (len(output_padding) != rank or
                                       any(not 0 <= p < s for p, s in zip(output_padding, strides))):
        raise ShapeError(f"conv_transpose: output_padding must be {rank} ints each >= 0 and below its stride "
                         f"{tuple(strides)}, got {output_padding!r}")
    *window, filters, in_channels = _kernel_dims("conv_transpose", x, kernel)
    batch, spatial, channels = split_layout(x.shape, data_format)
    if isinstance(channels, int) and channels != in_channels:
        raise ShapeError(f"conv_transpose: an input of shape {x.shape} ({data_format}) has {channels} channels; a "
                         f"kernel of shape {kernel.shape} (*kernel_size, filters, in_channels) takes {in_channels}")
    crops = conv_transpose_crops(window, strides, dilation_rate, padding, output_padding)
    out = [_transposed_dim(size, s, (k - 1) * d + 1 - before - after)
           for size, s, k, d, (before, after) in zip(spatial, strides, window, dilation_rate, crops)]
    return [TensorType(x.dtype, join_layout(batch, out, filters, data_format))]


register("conv_transpose", _conv_transpose,
         attrs={"strides": REQUIRED, "padding": "valid", "output_padding": None, "dilation_rate": REQUIRED,
                "data_format": "channels_last"}, num_inputs=2, traits=WINDOW,
         doc="N-d transposed convolution with a (*kernel_size, filters, in_channels) kernel, Keras' output sizes")


def _pool(op: str):
    def infer(types, pool_size, strides, padding, data_format):
        (x,) = types
        rank = _check_layout(op, x, data_format, {"pool_size": pool_size, "strides": strides})
        _check_padding(op, padding, rank, explicit=False)
        batch, spatial, channels = split_layout(x.shape, data_format)
        out = _spatial_output(op, x, None, spatial, pool_size, strides, padding)
        return [TensorType(x.dtype, join_layout(batch, out, channels, data_format))]

    return infer


register("max_pool", _pool("max_pool"),
         attrs={"pool_size": REQUIRED, "strides": REQUIRED, "padding": "valid", "data_format": "channels_last"},
         num_inputs=1, traits=WINDOW, doc="maximum over each window; 'same' padding never wins")
register("average_pool", _pool("average_pool"),
         attrs={"pool_size": REQUIRED, "strides": REQUIRED, "padding": "valid", "data_format": "channels_last"},
         num_inputs=1, traits=WINDOW, doc="mean over each window, counting only the input's elements (not the padding)")
