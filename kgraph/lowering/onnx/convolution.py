"""ONNX rules for convolution and pooling: Conv, ConvTranspose, MaxPool, AveragePool.

ONNX's window ops are channels-first with `(out, in, *window)` weights, so a channels_last tensor is wrapped in
Transposes and Keras' kernel is transposed once. Export graphs reach these rules channels-first: the IR's `layout`
pass moves the transposes into the graph, where it cancels adjacent pairs, and export folds the kernel's.
"""

from kgraph.ir.ops.convolution import conv_transpose_crops, same_pads, split_layout
from kgraph.lowering.onnx.registry import onnx_rule


def _channels_first(ctx, x, rank: int, data_format: str):
    return ctx.op("Transpose", x, perm=[0, rank + 1, *range(1, rank + 1)]) if data_format == "channels_last" else x


def _channels_last(ctx, y, rank: int, data_format: str):
    return ctx.op("Transpose", y, perm=[0, *range(2, rank + 2), 1]) if data_format == "channels_last" else y


def _weight(ctx, kernel, rank: int):
    """Keras' `(*window, a, b)` kernel as ONNX's `(b, a, *window)` weight."""
    return ctx.op("Transpose", kernel, perm=[rank + 1, rank, *range(rank)])


def _padding(spatial, windows, strides, padding) -> dict:
    """ONNX pad attributes: explicit `pads` where the sizes are known, SAME_UPPER (XLA's "same") where not."""
    if padding == "valid":
        return {}
    if padding == "same":
        if not all(isinstance(d, int) for d in spatial):
            return {"auto_pad": "SAME_UPPER"}
        padding = [same_pads(d, w, s) for d, w, s in zip(spatial, windows, strides)]
    return {"pads": [before for before, _ in padding] + [after for _, after in padding]}


def conv_node(ctx, x, kernel, bias, strides, padding, dilation_rate, groups, data_format):
    """One Conv of `x` with Keras' `kernel`, plus ONNX's optional per-channel `bias` (an input name or None)."""
    rank = ctx.in_types[0].rank - 2
    window = ctx.in_types[1].shape[:rank]
    spatial = split_layout(ctx.in_types[0].shape, data_format)[1]
    effective = [(k - 1) * d + 1 for k, d in zip(window, dilation_rate)]
    y = ctx.op("Conv", _channels_first(ctx, x, rank, data_format), _weight(ctx, kernel, rank),
               *([bias] if bias is not None else []), kernel_shape=list(window), strides=list(strides),
               dilations=list(dilation_rate), group=groups, **_padding(spatial, effective, strides, padding))
    return _channels_last(ctx, y, rank, data_format)


@onnx_rule("conv")
def _conv(ctx, x, kernel, strides, padding, dilation_rate, groups, data_format):
    return conv_node(ctx, x, kernel, None, strides, padding, dilation_rate, groups, data_format)


@onnx_rule("conv_transpose")
def _conv_transpose(ctx, x, kernel, strides, padding, output_padding, dilation_rate, data_format):
    """ConvTranspose crops `pads` off the full output and appends `output_padding`; Keras' negative crops are
    appended zeros, i.e. ONNX's output_padding."""
    rank = ctx.in_types[0].rank - 2
    window = ctx.in_types[1].shape[:rank]
    crops = conv_transpose_crops(window, strides, dilation_rate, padding, output_padding)
    pads = [before for before, _ in crops] + [max(after, 0) for _, after in crops]
    y = ctx.op("ConvTranspose", _channels_first(ctx, x, rank, data_format), _weight(ctx, kernel, rank),
               kernel_shape=list(window), strides=list(strides), dilations=list(dilation_rate), pads=pads,
               output_padding=[max(-after, 0) for _, after in crops])
    return _channels_last(ctx, y, rank, data_format)


def _pool(ctx, op_type: str, x, pool_size, strides, padding, data_format, **attrs):
    rank = ctx.in_types[0].rank - 2
    spatial = split_layout(ctx.in_types[0].shape, data_format)[1]
    y = ctx.op(op_type, _channels_first(ctx, x, rank, data_format), kernel_shape=list(pool_size),
               strides=list(strides), **_padding(spatial, pool_size, strides, padding), **attrs)
    return _channels_last(ctx, y, rank, data_format)


@onnx_rule("max_pool")
def _max_pool(ctx, x, pool_size, strides, padding, data_format):
    return _pool(ctx, "MaxPool", x, pool_size, strides, padding, data_format)


@onnx_rule("average_pool")
def _average_pool(ctx, x, pool_size, strides, padding, data_format):
    return _pool(ctx, "AveragePool", x, pool_size, strides, padding, data_format, count_include_pad=0)
