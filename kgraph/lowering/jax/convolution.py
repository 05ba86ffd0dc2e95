"""JAX rules for convolution and pooling: `lax.conv_general_dilated`, `lax.conv_transpose`, `lax.reduce_window`."""

import math

import jax.numpy as jnp
from jax import lax

from kgraph.ir.ops.convolution import conv_transpose_crops
from kgraph.lowering.jax.registry import jax_rule


def _dimension_numbers(rank: int, data_format: str) -> lax.ConvDimensionNumbers:
    """Input/output in `data_format`; kernel `(*window, in, out)` as Keras stores it."""
    spatial = tuple(range(1, rank + 1)) if data_format == "channels_last" else tuple(range(2, rank + 2))
    layout = (0, rank + 1) + spatial if data_format == "channels_last" else (0, 1) + spatial
    return lax.ConvDimensionNumbers(lhs_spec=layout, rhs_spec=(rank + 1, rank) + tuple(range(rank)), out_spec=layout)


def _lax_padding(padding):
    return padding.upper() if isinstance(padding, str) else [tuple(p) for p in padding]


@jax_rule("conv")
def _conv(x, kernel, strides, padding, dilation_rate, groups, data_format):
    return lax.conv_general_dilated(x, kernel, tuple(strides), _lax_padding(padding), rhs_dilation=tuple(dilation_rate),
                                    dimension_numbers=_dimension_numbers(x.ndim - 2, data_format),
                                    feature_group_count=groups)


@jax_rule("conv_transpose")
def _conv_transpose(x, kernel, strides, padding, output_padding, dilation_rate, data_format):
    """The gradient of a convolution whose kernel is `kernel` with in/out swapped; Keras' crops become lax pads."""
    window = kernel.shape[:-2]
    crops = conv_transpose_crops(window, strides, dilation_rate, padding, output_padding)
    pads = [((k - 1) * d - before, (k - 1) * d - after) for k, d, (before, after) in zip(window, dilation_rate, crops)]
    return lax.conv_transpose(x, kernel, tuple(strides), pads, rhs_dilation=tuple(dilation_rate),
                              dimension_numbers=_dimension_numbers(x.ndim - 2, data_format), transpose_kernel=True)


def _window(sizes, data_format: str) -> tuple[int, ...]:
    """Per-dim window sizes or strides from spatial ones: 1 on the batch and channel dims."""
    if data_format == "channels_last":
        return (1, *sizes, 1)
    return (1, 1, *sizes)


@jax_rule("max_pool")
def _max_pool(x, pool_size, strides, padding, data_format):
    return lax.reduce_window(x, -jnp.inf, lax.max, _window(pool_size, data_format),
                             _window(strides, data_format), padding.upper())


@jax_rule("average_pool")
def _average_pool(x, pool_size, strides, padding, data_format):
    """Window sums divided by how many input elements each window covers, so "same" padding is not averaged in."""
    window, step = _window(pool_size, data_format), _window(strides, data_format)
    sums = lax.reduce_window(x, 0.0, lax.add, window, step, padding.upper())
    if padding == "valid":
        return sums / math.prod(pool_size)
    ones = jnp.ones(tuple(d if w > 1 else 1 for d, w in zip(x.shape, window)), x.dtype)
    return sums / lax.reduce_window(ones, 0.0, lax.add, window, step, "SAME")
