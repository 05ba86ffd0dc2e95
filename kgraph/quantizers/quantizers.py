"""Quantizers and quantization functions (Keras 3's `keras.quantizers`): abs-max int8/int4 quantization, fake
quantization, float8 scaling and int4 packing, written over `kgraph.ops` so they run on arrays and in traces."""

from __future__ import annotations

import math

import jax.numpy as jnp
import ml_dtypes
import numpy as np

from kgraph import config, ops
from kgraph.ir.types import canonical_dtype
from kgraph.ops.dispatch import dtype_of, is_symbolic, unwrap


class Quantizer:
    """Base class of quantizers: `__call__(x)` returns the quantized tensor (and its scale, for subclasses).

    Args:
        output_dtype: the dtype of the quantized values.
    """

    _keras_location = ("keras.quantizers", "Quantizer", None)

    def __init__(self, output_dtype: str = "int8"):
        self.output_dtype = output_dtype

    def __call__(self, x):
        return x

    @classmethod
    def from_config(cls, config: dict) -> "Quantizer":
        return cls(**config)

    def get_config(self) -> dict:
        raise NotImplementedError(f"{self} does not implement get_config()")


def _dtype(x) -> str:
    return dtype_of(x) or config.floatx()


def abs_max_quantize(inputs, axis, value_range=(-127, 127), dtype="int8", epsilon=None, to_numpy=False):
    """Quantizes `inputs` symmetrically: `scale = value_range[1] / (max|x| over axis + epsilon)`,
    `q = clip(round(x * scale), *value_range)`.

    Args:
        inputs: the tensor to quantize.
        axis: the axis (or axes) the absolute maximum is taken over (kept as size-1 dims in the scale).
        value_range: the `(min, max)` of the quantized values.
        dtype: the dtype of the quantized values.
        epsilon: added to the maximum to avoid dividing by zero (default `kgraph.config.epsilon()`).
        to_numpy: compute on the host with NumPy.

    Returns:
        `(quantized, scale)`.
    """
    epsilon = config.epsilon() if epsilon is None else epsilon
    if to_numpy:
        original_dtype = _dtype(inputs)
        array = np.asarray(ops.convert_to_numpy(inputs))
        axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
        scale = np.divide(value_range[1], np.add(np.max(np.abs(array), axis=axis, keepdims=True), epsilon))
        outputs = np.clip(np.round(np.multiply(array, scale)), value_range[0], value_range[1]).astype(dtype)
        return ops.convert_to_tensor(outputs), ops.convert_to_tensor(scale, dtype=original_dtype)
    inputs = ops.convert_to_tensor(inputs)
    scale = ops.divide(value_range[1], ops.add(ops.max(ops.abs(inputs), axis=axis, keepdims=True), epsilon))
    scale = ops.cast(scale, _dtype(inputs))
    outputs = ops.clip(ops.round(ops.multiply(inputs, scale)), value_range[0], value_range[1])
    return ops.cast(outputs, dtype), scale


def abs_max_quantize_grouped_with_zero_point(inputs, block_size, value_range=(-8, 7), dtype="int8", epsilon=None,
                                             to_numpy=False):
    """Quantizes a 2D `(input_dim, output_dim)` tensor asymmetrically in groups of `block_size` rows.

    Returns:
        `(quantized, scale, zero_point)`; scale and zero point have shape `(ceil(input_dim / block_size),
        output_dim)`, the zero point in int8.
    """
    epsilon = config.epsilon() if epsilon is None else epsilon
    original_dtype = _dtype(inputs)
    array = np.asarray(ops.convert_to_numpy(inputs))
    if to_numpy:
        input_dim, output_dim = array.shape
        n_groups = math.ceil(input_dim / block_size)
        qmin, qmax = value_range
        padded = np.concatenate([array, np.zeros((n_groups * block_size - input_dim, output_dim), array.dtype)])
        grouped = padded.reshape(n_groups, block_size, output_dim)
        min_val = np.min(grouped, axis=1, keepdims=True)
        max_val = np.max(grouped, axis=1, keepdims=True)
        scale = np.divide(np.subtract(max_val, min_val) + epsilon, qmax - qmin)
        zero_point = np.clip(np.round(np.divide(-min_val, scale)) + qmin, qmin, qmax)
        outputs = np.clip(np.round(np.divide(grouped, scale)) + zero_point, qmin, qmax).astype(dtype)
        outputs = outputs.reshape(n_groups * block_size, output_dim)[:input_dim]
        return (ops.convert_to_tensor(outputs), ops.convert_to_tensor(np.squeeze(scale, 1), dtype=original_dtype),
                ops.convert_to_tensor(np.squeeze(zero_point, 1).astype("int8")))
    return _grouped_with_zero_point(ops.convert_to_tensor(inputs), block_size, value_range, dtype, epsilon)


def _grouped_with_zero_point(inputs, block_size, value_range, dtype, epsilon):
    input_dim, output_dim = inputs.shape
    qmin, qmax = value_range
    bits = int(math.log2(qmax - qmin + 1))
    n_groups = math.ceil(input_dim / block_size)
    scale_t, zero_t, _ = compute_quantization_parameters(
        ops.transpose(inputs), bits=bits, symmetric=False, per_channel=True, group_size=block_size,
        compute_dtype=_dtype(inputs), epsilon=epsilon, signed=True)
    scale, zero_point = ops.transpose(scale_t), ops.transpose(zero_t)
    pad = n_groups * block_size - input_dim
    if pad:
        inputs = ops.concatenate([inputs, ops.zeros((pad, output_dim), dtype=_dtype(inputs))], axis=0)
    grouped = ops.reshape(inputs, (n_groups, block_size, output_dim))
    outputs = ops.add(ops.round(ops.divide(grouped, ops.expand_dims(scale, 1))),
                      ops.cast(ops.expand_dims(zero_point, 1), _dtype(inputs)))
    outputs = ops.cast(ops.clip(outputs, qmin, qmax), dtype)
    return ops.reshape(outputs, (n_groups * block_size, output_dim))[:input_dim], scale, zero_point


class AbsMaxQuantizer(Quantizer):
    """Abs-max quantizer: `__call__(x, axis)` returns `abs_max_quantize(x, axis, ...)`'s `(quantized, scale)`.

    Args:
        axis: the default axis of `__call__` (deprecated in Keras; pass `axis` to the call). Default -1.
        value_range: the `(min, max)` of the quantized values.
        epsilon: added to the maximum to avoid dividing by zero.
        output_dtype: the dtype of the quantized values.
    """

    _keras_location = ("keras.quantizers", "AbsMaxQuantizer", None)

    def __init__(self, axis=None, value_range=(-127, 127), epsilon=None, output_dtype="int8"):
        super().__init__(output_dtype=output_dtype)
        self.axis = None if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        self.value_range = tuple(value_range)
        self.epsilon = config.epsilon() if epsilon is None else epsilon
        if output_dtype == "int8" and (value_range[0] < -128 or value_range[1] > 127):
            raise ValueError("Quantizer with output_dtype='int8' requires value_range to be within the interval "
                             f"[-128, 127]. Received: value_range={value_range}")

    def __call__(self, x, axis=None, to_numpy=False):
        axis = self.axis if axis is None else axis
        return abs_max_quantize(x, -1 if axis is None else axis, self.value_range, self.output_dtype, self.epsilon,
                                to_numpy)

    def get_config(self) -> dict:
        config_dict = {"value_range": self.value_range, "epsilon": self.epsilon, "output_dtype": self.output_dtype}
        if self.axis is not None:
            config_dict["axis"] = self.axis
        return config_dict


def _adjust_and_nudge(min_range, max_range, num_bits, narrow_range):
    compute_dtype = "float64" if _dtype(min_range) == "float64" else "float32"
    min_range, max_range = ops.cast(min_range, compute_dtype), ops.cast(max_range, compute_dtype)
    quant_max = (1 << num_bits) - 1
    quant_min = 1 if narrow_range else 0
    diff_range = ops.subtract(max_range, min_range)
    scale = ops.divide(diff_range, quant_max - quant_min)
    inv_scale = ops.divide(quant_max - quant_min, diff_range)
    zero_point = ops.clip(ops.subtract(quant_min, ops.divide(min_range, scale)), quant_min, quant_max)
    nudged_zero_point = ops.round(zero_point)
    nudged_min = ops.multiply(ops.subtract(quant_min, nudged_zero_point), scale)
    nudged_max = ops.multiply(ops.subtract(quant_max, nudged_zero_point), scale)
    return nudged_min, nudged_max, scale, inv_scale


def _flowing(value, mask):
    """Zero in value, but `mask`-selected gradient to `value` (the straight-through pieces of fake quantization)."""
    return ops.where(mask, ops.subtract(value, ops.stop_gradient(value)), 0.0)


def fake_quant_with_min_max_vars(inputs, min_vals, max_vals, num_bits=8, narrow_range=False, axis=None):
    """Quantizes `inputs` into `[0, 2^num_bits - 1]` (from 1 with `narrow_range`) over `[min_vals, max_vals]` and
    dequantizes back, as TensorFlow's `fake_quant_with_min_max_vars`; gradients pass straight through inside the
    range and flow to `min_vals` / `max_vals` from the clipped elements.

    Args:
        inputs: a float tensor.
        min_vals, max_vals: scalars (per-tensor) or per-channel vectors along `axis`.
        num_bits: the bit width.
        narrow_range: whether the quantized range starts at 1.
        axis: the channel axis of per-channel quantization; None for per-tensor.
    """
    inputs = ops.convert_to_tensor(inputs)
    min_vals, max_vals = ops.convert_to_tensor(min_vals), ops.convert_to_tensor(max_vals)
    dtype = _dtype(inputs)
    nudged_min, nudged_max, scale, inv_scale = _adjust_and_nudge(min_vals, max_vals, int(num_bits), narrow_range)
    if axis is not None and len(ops.shape(min_vals)) > 0:
        axis = axis % len(inputs.shape)
        shape = [1] * len(inputs.shape)
        shape[axis] = -1
        nudged_min, nudged_max, scale, inv_scale = (ops.reshape(t, shape)
                                                    for t in (nudged_min, nudged_max, scale, inv_scale))
        min_b, max_b = ops.reshape(min_vals, shape), ops.reshape(max_vals, shape)
    else:
        min_b, max_b = min_vals, max_vals
    quant_zero = ops.floor(ops.add(ops.multiply(ops.negative(nudged_min), inv_scale), 0.5))
    shifted = ops.subtract(ops.clip(ops.cast(inputs, _dtype(nudged_min)), nudged_min, nudged_max), nudged_min)
    result = ops.multiply(ops.floor(ops.add(ops.subtract(ops.multiply(shifted, inv_scale), quant_zero), 0.5)), scale)
    result = ops.stop_gradient(ops.cast(result, dtype))
    inside = ops.logical_and(ops.greater_equal(inputs, nudged_min), ops.less_equal(inputs, nudged_max))
    below = ops.less_equal(inputs, nudged_min)
    above = ops.greater_equal(inputs, nudged_max)
    flow = ops.add(_flowing(inputs, inside), ops.add(ops.cast(_flowing(min_b, below), dtype),
                                                       ops.cast(_flowing(max_b, above), dtype)))
    return ops.add(result, flow)


def compute_float8_scale(amax, scale, dtype_max, margin=0):
    """The next float8 scale from the history's maximum `amax`: `amax / dtype_max * 2^margin`, keeping `scale`
    where `amax` is zero or not finite."""
    scale = ops.reciprocal(scale)
    sf = ops.divide(ops.divide(dtype_max, amax), 2 ** margin)
    sf = ops.where(ops.greater(amax, 0.0), sf, scale)
    sf = ops.where(ops.isfinite(amax), sf, scale)
    return ops.reciprocal(sf)


def compute_float8_amax_history(x, amax_history):
    """`amax_history` rolled by one with `max(|x|)` written at position 0."""
    amax_update = ops.cast(ops.max(ops.abs(x)), _dtype(amax_history))
    return ops.scatter_update(ops.roll(amax_history, shift=-1), [[0]], ops.reshape(amax_update, [1]))


def quantize_and_dequantize(inputs, scale, quantized_dtype, compute_dtype):
    """`inputs / scale` clipped to `quantized_dtype`'s finite range, cast to it, and scaled back (float8 rounding).

    kgraph's IR has no float8 dtype, so this runs on arrays (eagerly or under `jax.jit`), not in traced models.
    """
    if is_symbolic(inputs) or is_symbolic(scale):
        raise TypeError(f"quantize_and_dequantize to {quantized_dtype!r} runs on arrays only: kgraph's graphs have no "
                        f"float8 dtype. Received a symbolic tensor of shape {tuple(getattr(inputs, 'shape', ()))}.")
    compute_dtype = canonical_dtype(compute_dtype)
    limit = float(ml_dtypes.finfo(quantized_dtype).max)
    x = jnp.divide(jnp.asarray(unwrap(inputs)), jnp.asarray(unwrap(scale)).astype(compute_dtype))
    x = jnp.clip(x, -limit, limit).astype(jnp.dtype(quantized_dtype))
    return jnp.multiply(x.astype(compute_dtype), jnp.asarray(unwrap(scale)).astype(compute_dtype))


def pack_int4(arr, axis=0, dtype="int8"):
    """Packs int4 values (int8 in [-8, 7]) two per byte along `axis`: the first of each pair in the low nibble.

    Returns:
        `(packed, packed_shape, orig_len)`: odd lengths are padded by one zero before packing.
    """
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")
    if _dtype(arr) != dtype:
        raise TypeError(f"Expected {dtype} tensor for packing, got {_dtype(arr)}.")
    array = np.moveaxis(np.asarray(ops.convert_to_numpy(arr)), axis % np.ndim(arr), 0)
    n = array.shape[0]
    if n % 2:
        array = np.concatenate([array, np.zeros((1,) + array.shape[1:], array.dtype)])
    mask = np.array(0x0F, dtype=dtype)
    low = np.bitwise_and(array[::2].astype(dtype), mask)
    high = np.bitwise_and(array[1::2].astype(dtype), mask)
    packed = np.moveaxis(np.bitwise_or(low, np.left_shift(high, np.array(4, dtype=dtype))).astype(dtype), 0,
                         axis % np.ndim(arr))
    return ops.convert_to_tensor(packed), tuple(packed.shape), n


def unpack_int4(packed, orig_len, axis=0, dtype="int8"):
    """Reverses `pack_int4`: int8 values in [-8, 7] (or uint8 in [0, 15]) of length `orig_len` along `axis`.

    The nibbles are read with integer division and remainder, so the ONNX export needs no bitwise ops.
    """
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")
    if _dtype(packed) not in ("int8", "uint8"):
        raise TypeError(f"Expected int8 or uint8 tensor for unpacking, got {_dtype(packed)}")
    packed = ops.convert_to_tensor(packed)
    rank = len(packed.shape)
    axis = axis % rank
    perm = [axis] + [i for i in range(rank) if i != axis]
    transposed = ops.transpose(packed, perm)
    wide = ops.cast(transposed, "int32")
    low = ops.mod(wide, 16)
    high = ops.mod(ops.floor_divide(wide, 16), 16)
    if dtype == "int8":
        low, high = (ops.where(ops.greater_equal(t, 8), ops.subtract(t, 16), t) for t in (low, high))
    stacked = ops.stack([ops.cast(low, dtype), ops.cast(high, dtype)], axis=1)
    unpacked = ops.reshape(stacked, (-1,) + tuple(transposed.shape[1:]))[:orig_len]
    return ops.transpose(unpacked, [perm.index(i) for i in range(rank)])


def compute_quantization_parameters(x, *, bits, symmetric=False, per_channel=False, group_size=-1,
                                    compute_dtype="float32", epsilon=0.0, signed=False):
    """Scale and zero point for quantizing a `(out_features, in_features)` weight to `bits` bits, per tensor, per
    channel or per group of `group_size` inputs, as Keras computes them (GPTQ and grouped int4).

    Returns:
        `(scale, zero, maxq)`: scale and zero of shape `(out_features, n_groups)` (or `(out_features, 1)`).
    """
    if x is None:
        raise ValueError("Input tensor x cannot be None.")
    if len(x.shape) < 2:
        raise ValueError(f"Input weight tensor must have a rank of at least 2, but got rank {len(x.shape)}.")
    out_features, in_features = x.shape[0], x.shape[1]
    n_groups = (in_features + group_size - 1) // group_size if per_channel and group_size > 0 else 1
    if n_groups > 1:
        if in_features % group_size:
            x = ops.pad(x, [[0, 0], [0, group_size - in_features % group_size]], constant_values=0.0)
        grouped = ops.reshape(x, [out_features, n_groups, group_size])
        min_values, max_values = ops.min(grouped, axis=2), ops.max(grouped, axis=2)
    else:
        flat = ops.reshape(x, [out_features, -1] if per_channel else [1, -1])
        min_values, max_values = ops.min(flat, axis=1), ops.max(flat, axis=1)
    if symmetric:
        max_abs = ops.maximum(ops.abs(min_values), max_values)
        min_values = ops.where(ops.less(min_values, 0), ops.negative(max_abs), min_values)
        max_values = max_abs
    zero_range = ops.equal(min_values, max_values)
    min_values = ops.where(zero_range, ops.subtract(min_values, 1), min_values)
    max_values = ops.where(zero_range, ops.add(max_values, 1), max_values)
    maxq = ops.cast(2 ** bits - 1, compute_dtype)
    range_values = ops.subtract(max_values, min_values)
    if epsilon > 0:
        range_values = ops.add(range_values, epsilon)
    scale = ops.divide(range_values, maxq)
    scale = ops.where(ops.less_equal(scale, 0), 1e-8, scale)
    if signed:
        qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        zero = (ops.full_like(scale, 2 ** (bits - 1) + qmin) if symmetric
                else ops.add(ops.round(ops.divide(ops.negative(min_values), scale)), qmin))
        zero = ops.clip(zero, qmin, qmax)
    else:
        zero = (ops.full_like(scale, 2 ** (bits - 1)) if symmetric
                else ops.round(ops.divide(ops.negative(min_values), scale)))
    if n_groups == 1 and per_channel:
        scale, zero = ops.reshape(scale, [-1, 1]), ops.reshape(zero, [-1, 1])
    elif n_groups == 1:
        scale = ops.tile(ops.reshape(scale, (1, 1)), (out_features, 1))
        zero = ops.tile(ops.reshape(zero, (1, 1)), (out_features, 1))
    return scale, ops.cast(zero, "int8" if signed else "uint8"), maxq


def quantize_with_zero_point(input_tensor, scale, zero, maxq):
    """`clip(round(x / scale + zero), 0, maxq)` (levels as floats)."""
    safe_scale = ops.where(ops.equal(scale, 0), ops.cast(1e-8, _dtype(scale)), scale)
    quantized = ops.round(ops.add(ops.divide(input_tensor, safe_scale), ops.cast(zero, _dtype(scale))))
    return ops.clip(quantized, 0, maxq)


def quantize_with_sz_map(weights_matrix, scale, zero, g_idx, maxq, group_axis=-1):
    """Quantizes `weights_matrix` with the scale and zero point of each position's group `g_idx`."""
    groups = ops.cast(g_idx, "int32")
    return quantize_with_zero_point(weights_matrix, ops.take(scale, groups, axis=group_axis),
                                    ops.take(zero, groups, axis=group_axis), maxq)


def dequantize_with_sz_map(weights_matrix, scale, zero, g_idx, group_axis=-1):
    """`(q - zero) * scale` with the scale and zero point of each position's group `g_idx`."""
    groups = ops.cast(g_idx, "int32")
    scales = ops.take(scale, groups, axis=group_axis)
    zeros = ops.cast(ops.take(zero, groups, axis=group_axis), _dtype(scales))
    return ops.multiply(ops.subtract(weights_matrix, zeros), scales)
