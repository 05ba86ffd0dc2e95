"""The rest of Keras' NumPy-style ops: more elementwise math, logic, NaN-aware reductions, quantiles, sorting,
layout (flip, roll, stacking, splitting), diagonals and triangles, and products.

Most compose the IR ops that `kgraph.ops.numpy` and `kgraph.ops.array` record, so they lower to XLA and ONNX
wherever those do; a few (tan, arctan2, sort, top_k, …) have IR ops of their own.
"""

from __future__ import annotations

import builtins
import math
import numpy as np

from kgraph.ir.types import canonical_dtype, is_float, is_int
from kgraph.ops import numpy as knp
from kgraph.ops.array import (
    _slice_op, _tensor, broadcast_to, concatenate, cumsum, get_item, pad, split, take, take_along_axis,
)
from kgraph.ops.dispatch import apply, convert, dtype_of, is_symbolic, promote, unwrap
from kgraph.ops.nn import one_hot
import jax.numpy as jnp
from kgraph.ops.array import einsum
from kgraph.ops.array import stack
from kgraph.ir.types import canonical_dtype as name
import jax

__all__ = [
    "all", "allclose", "angle", "any", "append", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
    "arctanh", "argpartition", "argsort", "array_split", "average", "bincount", "bitwise_and", "bitwise_invert",
    "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "cbrt", "cdist",
    "conj", "conjugate", "copy", "corrcoef", "correlate", "cosh", "count_nonzero", "cross", "cumprod", "deg2rad",
    "diag", "diagflat", "diagonal", "diff", "digitize", "dsplit", "dstack", "dtype", "erfc", "erfinv", "exp2",
    "fabs", "flip", "fliplr", "flipud", "fmax", "fmin", "fmod", "gcd", "heaviside", "histogram", "hsplit",
    "hstack", "hypot", "i0", "imag", "inner", "is_tensor", "isclose", "isfinite", "isin", "isinf", "isnan",
    "isneginf", "isposinf", "isreal", "kron", "lcm", "ldexp", "left_shift", "log10", "log2", "logaddexp",
    "logaddexp2", "logical_xor", "median", "moveaxis", "nan_to_num", "nanargmax", "nanargmin", "nancumprod",
    "nancumsum", "nanmax", "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod", "nanquantile", "nanstd",
    "nansum", "nanvar", "nextafter", "nonzero", "outer", "percentile", "ptp", "quantile", "rad2deg", "ravel",
    "real", "right_shift", "roll", "rot90", "saturate_cast", "searchsorted", "select", "signbit", "sinc", "sinh",
    "sort", "swapaxes", "tan", "tensordot", "trace", "trapezoid", "tril", "triu", "trunc", "unique",
    "unravel_index", "unstack", "vander", "vdot", "vsplit", "vstack",
]

_float = knp._float
shape = knp.shape


def _rank(x) -> int:
    return len(shape(x))


def _norm_axis(axis: int, rank: int, name: str) -> int:
    if not -rank <= axis < builtins.max(rank, 1):
        raise ValueError(f"{name}: axis {axis} is out of range for a tensor of rank {rank}")
    return axis % builtins.max(rank, 1)


def _float_unary(op: str):
    def fn(x):
        return apply(op, _float(_tensor(x)))

    fn.__name__ = op
    fn.__doc__ = f"Elementwise {op}, as np.{op}; integer inputs give floatx."
    return fn


tan, sinh, cosh = _float_unary("tan"), _float_unary("sinh"), _float_unary("cosh")
arcsin, arccos, arctan = _float_unary("arcsin"), _float_unary("arccos"), _float_unary("arctan")
arcsinh, arccosh, arctanh = _float_unary("arcsinh"), _float_unary("arccosh"), _float_unary("arctanh")
erfinv, erfc, i0 = _float_unary("erfinv"), _float_unary("erfc"), _float_unary("i0")


def trunc(x):
    """Rounds toward zero; integer inputs come back unchanged."""
    x = _tensor(x)
    return apply("trunc", x) if is_float(dtype_of(x)) else x


def isnan(x):
    """Elementwise NaN test (all False for integers)."""
    x = _tensor(x)
    return apply("isnan", x) if is_float(dtype_of(x)) else knp.full_like(x, False, "bool")


def isinf(x):
    """Elementwise test for +-inf (all False for integers)."""
    x = _tensor(x)
    return apply("isinf", x) if is_float(dtype_of(x)) else knp.full_like(x, False, "bool")


def isfinite(x):
    """Elementwise: neither NaN nor infinite."""
    return knp.logical_not(knp.logical_or(isnan(x), isinf(x)))


def isneginf(x):
    x = _tensor(x)
    return knp.logical_and(isinf(x), knp.less(x, 0))


def isposinf(x):
    x = _tensor(x)
    return knp.logical_and(isinf(x), knp.greater(x, 0))


def isreal(x):
    """True everywhere: kgraph tensors are real."""
    return knp.full_like(_tensor(x), True, "bool")


def signbit(x):
    """Whether the sign bit is set (true for -0.0)."""
    x = _tensor(x)
    if dtype_of(x) == "bool" or dtype_of(x).startswith("uint"):
        return knp.full_like(x, False, "bool")
    if not is_float(dtype_of(x)):
        return knp.less(x, 0)
    negative_zero = knp.logical_and(knp.equal(x, 0), knp.less(knp.reciprocal(x), 0))
    return knp.logical_or(knp.less(x, 0), negative_zero)


def cbrt(x):
    """Cube root, real for negative inputs."""
    x = _float(_tensor(x))
    return knp.multiply(knp.sign(x), knp.power(knp.abs(x), 1.0 / 3.0))


def exp2(x):
    x = _float(_tensor(x))
    return knp.power(knp.full_like(x, 2.0), x)


def log2(x):
    x = _float(_tensor(x))
    return knp.divide(knp.log(x), knp.full_like(x, math.log(2.0)))


def log10(x):
    x = _float(_tensor(x))
    return knp.divide(knp.log(x), knp.full_like(x, math.log(10.0)))


def deg2rad(x):
    return knp.multiply(_float(_tensor(x)), math.pi / 180.0)


def rad2deg(x):
    return knp.multiply(_float(_tensor(x)), 180.0 / math.pi)


def fabs(x):
    """Absolute value as a float."""
    return knp.abs(_float(_tensor(x)))


def sinc(x):
    """sin(pi x) / (pi x), 1 at 0."""
    x = _float(_tensor(x))
    zero = knp.equal(x, 0)
    scaled = knp.multiply(knp.where(zero, 1.0, x), math.pi)
    return knp.where(zero, 1.0, knp.divide(knp.sin(scaled), scaled))


def copy(x):
    """A copy of x (tensors are immutable, so x itself where it is already one)."""
    return knp.convert_to_tensor(x)


def real(x):
    """The real part: x itself, since kgraph tensors are real."""
    return knp.convert_to_tensor(x)


conj = conjugate = real


def imag(x):
    """The imaginary part: zeros, since kgraph tensors are real."""
    return knp.zeros_like(_tensor(x))


def angle(x):
    """The complex argument of real x: pi where x < 0, else 0."""
    x = _float(_tensor(x))
    return knp.where(knp.less(x, 0), math.pi, knp.zeros_like(x))


def _float_pair(x1, x2):
    x1, x2 = promote(_tensor(x1), _tensor(x2))
    return (_float(x1), _float(x2)) if not is_float(dtype_of(x1)) else (x1, x2)


def heaviside(x1, x2):
    """0 where x1 < 0, x2 where x1 == 0, 1 where x1 > 0."""
    x1, x2 = _float_pair(x1, x2)
    return knp.where(knp.less(x1, 0), knp.zeros_like(x1), knp.where(knp.greater(x1, 0), knp.ones_like(x1), x2))


def hypot(x1, x2):
    x1, x2 = _float_pair(x1, x2)
    return knp.sqrt(knp.add(knp.square(x1), knp.square(x2)))


def logaddexp(x1, x2):
    """log(exp(x1) + exp(x2)) without overflow."""
    x1, x2 = _float_pair(x1, x2)
    high = knp.maximum(x1, x2)
    diff = knp.negative(knp.abs(knp.subtract(x1, x2)))
    return knp.add(high, knp.log1p(knp.exp(diff)))


def logaddexp2(x1, x2):
    """log2(2**x1 + 2**x2) without overflow."""
    x1, x2 = _float_pair(x1, x2)
    high = knp.maximum(x1, x2)
    diff = knp.negative(knp.abs(knp.subtract(x1, x2)))
    return knp.add(high, knp.divide(knp.log1p(exp2(diff)), math.log(2.0)))


def arctan2(x1, x2):
    """Elementwise arc tangent of x1 / x2 in the right quadrant."""
    return apply("arctan2", *_float_pair(x1, x2))


def nextafter(x1, x2):
    """The next float after x1 toward x2."""
    return apply("nextafter", *_float_pair(x1, x2))


def fmod(x1, x2):
    """Remainder with the sign of the dividend (C's fmod)."""
    x1, x2 = promote(_tensor(x1), _tensor(x2))
    if dtype_of(x1) == "bool":
        x1, x2 = convert(x1, "int32"), convert(x2, "int32")
    return apply("fmod", x1, x2)


def _int_pair(op: str, x1, x2, allow_bool: bool = False):
    x1, x2 = promote(_tensor(x1), _tensor(x2))
    dtype = dtype_of(x1)
    if not (is_int(dtype) or allow_bool and dtype == "bool"):
        raise TypeError(f"{op} needs integer{' or bool' if allow_bool else ''} tensors, got {dtype}")
    return x1, x2


def gcd(x1, x2):
    return apply("gcd", *_int_pair("gcd", x1, x2))


def lcm(x1, x2):
    return apply("lcm", *_int_pair("lcm", x1, x2))


def bitwise_and(x, y):
    return apply("bitwise_and", *_int_pair("bitwise_and", x, y, True))


def bitwise_or(x, y):
    return apply("bitwise_or", *_int_pair("bitwise_or", x, y, True))


def bitwise_xor(x, y):
    return apply("bitwise_xor", *_int_pair("bitwise_xor", x, y, True))


def bitwise_invert(x):
    x = _tensor(x)
    if not (is_int(dtype_of(x)) or dtype_of(x) == "bool"):
        raise TypeError(f"bitwise_invert needs an integer or bool tensor, got {dtype_of(x)}")
    return apply("bitwise_invert", x)


bitwise_not = bitwise_invert


def left_shift(x, y):
    return apply("left_shift", *_int_pair("left_shift", x, y))


def right_shift(x, y):
    return apply("right_shift", *_int_pair("right_shift", x, y))


bitwise_left_shift, bitwise_right_shift = left_shift, right_shift


def ldexp(x1, x2):
    """x1 * 2**x2 (x2 integer)."""
    x1 = _float(_tensor(x1))
    if not is_int(dtype_of(_tensor(x2)) or ""):
        raise TypeError(f"ldexp needs an integer exponent x2, got {dtype_of(_tensor(x2))}")
    return knp.multiply(x1, exp2(knp.cast(x2, dtype_of(x1))))


def fmax(x1, x2):
    """Elementwise maximum that ignores NaN (NaN only where both are)."""
    x1, x2 = promote(_tensor(x1), _tensor(x2))
    return knp.where(isnan(x1), x2, knp.where(isnan(x2), x1, knp.maximum(x1, x2)))


def fmin(x1, x2):
    """Elementwise minimum that ignores NaN (NaN only where both are)."""
    x1, x2 = promote(_tensor(x1), _tensor(x2))
    return knp.where(isnan(x1), x2, knp.where(isnan(x2), x1, knp.minimum(x1, x2)))


def logical_xor(x1, x2):
    return knp.not_equal(knp.cast(x1, "bool"), knp.cast(x2, "bool"))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN and infinities replaced by finite numbers (the dtype's extremes unless given)."""
    x = _tensor(x)
    dtype = dtype_of(x)
    if not is_float(dtype):
        return x
    info = np.finfo(np.dtype("float32") if dtype == "bfloat16" else dtype)
    x = knp.where(isnan(x), nan, x)
    x = knp.where(isposinf(x), info.max if posinf is None else posinf, x)
    return knp.where(isneginf(x), info.min if neginf is None else neginf, x)


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """|x1 - x2| <= atol + rtol * |x2|, elementwise (equal infinities are close)."""
    x1, x2 = promote(_tensor(x1), _tensor(x2))
    if not is_float(dtype_of(x1)):
        return knp.equal(x1, x2)
    close = knp.less_equal(knp.abs(knp.subtract(x1, x2)), knp.add(atol, knp.multiply(rtol, knp.abs(x2))))
    close = knp.logical_or(close, knp.equal(x1, x2))
    if equal_nan:
        close = knp.logical_or(close, knp.logical_and(isnan(x1), isnan(x2)))
    return close


def all(x, axis=None, keepdims=False):
    """Whether every element along `axis` is truthy."""
    flags = knp.cast(knp.not_equal(_tensor(x), 0), "int32")
    return knp.greater(knp.min(flags, axis=axis, keepdims=keepdims), 0)


def any(x, axis=None, keepdims=False):
    """Whether any element along `axis` is truthy."""
    flags = knp.cast(knp.not_equal(_tensor(x), 0), "int32")
    return knp.greater(knp.max(flags, axis=axis, keepdims=keepdims), 0)


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return all(isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan))


def count_nonzero(x, axis=None):
    """The number of non-zero elements along `axis`, int32."""
    return knp.sum(knp.cast(knp.not_equal(_tensor(x), 0), "int32"), axis=axis)


def ptp(x, axis=None, keepdims=False):
    """max - min along `axis`."""
    x = _tensor(x)
    return knp.subtract(knp.max(x, axis=axis, keepdims=keepdims), knp.min(x, axis=axis, keepdims=keepdims))


def average(x, axis=None, weights=None):
    """Weighted mean along `axis`; 1-D weights apply along that axis."""
    x = _tensor(x)
    if weights is None:
        return knp.mean(x, axis=axis)
    x, weights = promote(_float(x), _tensor(weights))
    if axis is not None and _rank(weights) == 1 and _rank(x) > 1:
        target = [1] * _rank(x)
        target[_norm_axis(axis, _rank(x), "average")] = -1
        weights = knp.reshape(weights, tuple(target))
    weights = broadcast_to(weights, shape(x))
    return knp.divide(knp.sum(knp.multiply(x, weights), axis=axis), knp.sum(weights, axis=axis))


def _without_nan(x, fill):
    x = _tensor(x)
    return knp.where(isnan(x), fill, x) if is_float(dtype_of(x)) else x


def nansum(x, axis=None, keepdims=False):
    return knp.sum(_without_nan(x, 0), axis=axis, keepdims=keepdims)


def nanprod(x, axis=None, keepdims=False):
    return knp.prod(_without_nan(x, 1), axis=axis, keepdims=keepdims)


def _nan_count(x, axis, keepdims):
    x = _tensor(x)
    valid = knp.logical_not(isnan(x))
    return knp.sum(knp.cast(valid, dtype_of(_float(x))), axis=axis, keepdims=keepdims)


def nanmean(x, axis=None, keepdims=False):
    x = _float(_tensor(x))
    return knp.divide(nansum(x, axis=axis, keepdims=keepdims), _nan_count(x, axis, keepdims))


def nanvar(x, axis=None, keepdims=False):
    x = _float(_tensor(x))
    centered = knp.subtract(x, nanmean(x, axis=axis, keepdims=True))
    return knp.divide(nansum(knp.square(centered), axis=axis, keepdims=keepdims), _nan_count(x, axis, keepdims))


def nanstd(x, axis=None, keepdims=False):
    return knp.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


def nanmax(x, axis=None, keepdims=False):
    """max ignoring NaN; NaN where a slice is all NaN."""
    x = _tensor(x)
    if not is_float(dtype_of(x)):
        return knp.max(x, axis=axis, keepdims=keepdims)
    result = knp.max(_without_nan(x, -np.inf), axis=axis, keepdims=keepdims)
    return knp.where(all(isnan(x), axis=axis, keepdims=keepdims), np.nan, result)


def nanmin(x, axis=None, keepdims=False):
    """min ignoring NaN; NaN where a slice is all NaN."""
    x = _tensor(x)
    if not is_float(dtype_of(x)):
        return knp.min(x, axis=axis, keepdims=keepdims)
    result = knp.min(_without_nan(x, np.inf), axis=axis, keepdims=keepdims)
    return knp.where(all(isnan(x), axis=axis, keepdims=keepdims), np.nan, result)


def nanargmax(x, axis=None, keepdims=False):
    return knp.argmax(_without_nan(x, -np.inf), axis=axis, keepdims=keepdims)


def nanargmin(x, axis=None, keepdims=False):
    return knp.argmin(_without_nan(x, np.inf), axis=axis, keepdims=keepdims)


def cumprod(x, axis=None, dtype=None):
    """Running product along `axis` (flattened when None); bools count as int32."""
    x = _tensor(x)
    if dtype is not None:
        x = convert(x, canonical_dtype(dtype))
    elif dtype_of(x) == "bool":
        x = convert(x, "int32")
    if axis is None:
        x, axis = ravel(x), 0
    return apply("cumprod", x, axis=_norm_axis(int(axis), _rank(x), "cumprod"))


def nancumsum(x, axis=None, dtype=None):
    return cumsum(_without_nan(x, 0), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    return cumprod(_without_nan(x, 1), axis=axis, dtype=dtype)


def sort(x, axis=-1):
    """x sorted ascending along `axis` (flattened when None)."""
    x = _tensor(x)
    if axis is None:
        x, axis = ravel(x), 0
    return apply("sort", x, axis=int(axis))


def argsort(x, axis=-1):
    """int32 indices that sort x along `axis` (flattened when None)."""
    x = _tensor(x)
    if axis is None or _rank(x) == 0:
        x, axis = ravel(x), 0
    return apply("argsort", x, axis=int(axis))


def argpartition(x, kth, axis=-1):
    """Indices that put the kth element in its sorted place, smaller ones before it (here: a full argsort)."""
    return argsort(x, axis=axis)


_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The q-th quantiles (q in [0, 1], a scalar or 1-D) along `axis`, interpolated by `method`."""
    return _quantile(x, q, axis, method, keepdims, ignore_nan=False)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """quantile ignoring NaN."""
    return _quantile(x, q, axis, method, keepdims, ignore_nan=True)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    return quantile(x, np.asarray(unwrap(q)) / 100.0 if not is_symbolic(unwrap(q)) else knp.divide(q, 100.0),
                    axis=axis, method=method, keepdims=keepdims)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return nanquantile(x, np.asarray(unwrap(q)) / 100.0 if not is_symbolic(unwrap(q)) else knp.divide(q, 100.0),
                       axis=axis, method=method, keepdims=keepdims)


def median(x, axis=None, keepdims=False):
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def nanmedian(x, axis=None, keepdims=False):
    return nanquantile(x, 0.5, axis=axis, keepdims=keepdims)


def _quantile(x, q, axis, method, keepdims, ignore_nan):
    """Sorts along the reduced axes (moved last and flattened); NaN sorts last, so the valid count sets positions."""
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"quantile: method must be one of {_QUANTILE_METHODS}, got {method!r}")
    x = _float(_tensor(x))
    rank = _rank(x)
    axes = tuple(range(rank)) if axis is None else tuple(sorted(_norm_axis(a, rank, "quantile") for a in
                                                                 ((axis,) if isinstance(axis, int) else axis)))
    kept = [a for a in range(rank) if a not in axes]
    moved = knp.transpose(x, kept + list(axes)) if rank else x
    flat = knp.reshape(moved, tuple(shape(moved)[:len(kept)]) + (-1,))
    ordered = sort(flat, axis=-1)
    size = shape(flat)[-1]
    dtype = dtype_of(ordered)
    if ignore_nan:
        count = knp.sum(knp.cast(knp.logical_not(isnan(flat)), dtype), axis=-1, keepdims=True)
    else:
        count = knp.full_like(get_item(ordered, (Ellipsis, builtins.slice(0, 1))), float(size))
    q = _tensor(q)
    scalar_q = _rank(q) == 0
    q = knp.cast(knp.reshape(q, (-1,)), dtype)
    q_shape = (-1,) + (1,) * (len(kept) + 1)
    position = knp.multiply(knp.reshape(q, q_shape), knp.subtract(count, 1.0))
    position = knp.maximum(position, 0.0)
    low, high = knp.floor(position), knp.ceil(position)
    if method == "lower":
        high = low
    elif method == "higher":
        low = high
    elif method == "nearest":
        low = high = knp.round(position)
    gathered = broadcast_to(knp.expand_dims(ordered, 0), (shape(q)[0],) + tuple(shape(ordered)))
    low_v = take_along_axis(gathered, knp.cast(low, "int32"), axis=-1)
    high_v = take_along_axis(gathered, knp.cast(high, "int32"), axis=-1)
    if method == "midpoint":
        value = knp.multiply(knp.add(low_v, high_v), 0.5)
    else:
        weight = knp.subtract(position, low)
        value = knp.add(low_v, knp.multiply(knp.subtract(high_v, low_v), weight))
    value = knp.squeeze(value, -1)
    if ignore_nan:
        empty = knp.equal(knp.squeeze(count, -1), 0.0)
        value = knp.where(empty, np.nan, value)
    if keepdims:
        for a in axes:
            value = knp.expand_dims(value, a + 1)
    return knp.squeeze(value, 0) if scalar_q else value


def searchsorted(sorted_sequence, values, side="left"):
    """Where each of `values` would go in the 1-D ascending `sorted_sequence` to keep it sorted (int32)."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    sorted_sequence, values = promote(_tensor(sorted_sequence), _tensor(values))
    if _rank(sorted_sequence) != 1:
        raise ValueError(f"searchsorted needs a 1-D sorted_sequence, got shape {shape(sorted_sequence)}")
    compare = knp.less if side == "left" else knp.less_equal
    before = compare(sorted_sequence, knp.expand_dims(values, -1))
    return knp.sum(knp.cast(before, "int32"), axis=-1)


def digitize(x, bins):
    """The index of the bin each element of x falls in (ascending bins, right edge open), int32."""
    x, bins = promote(_tensor(x), _tensor(bins))
    return knp.sum(knp.cast(knp.less_equal(bins, knp.expand_dims(x, -1)), "int32"), axis=-1)


def histogram(x, bins=10, range=None):
    """Counts of x in `bins` equal bins over `range` (default: x's min and max), and the bin edges."""
    x = _float(ravel(_tensor(x)))
    low, high = (knp.min(x), knp.max(x)) if range is None else (float(range[0]), float(range[1]))
    steps = np.linspace(0.0, 1.0, int(bins) + 1).astype(dtype_of(x))
    edges = knp.add(low, knp.multiply(knp.subtract(high, low), steps))
    inner = get_item(edges, builtins.slice(1, -1))
    index = digitize(x, inner)
    inside = knp.logical_and(knp.greater_equal(x, low), knp.less_equal(x, high))
    counts = knp.sum(knp.multiply(one_hot(index, int(bins), dtype="int32"),
                                  knp.expand_dims(knp.cast(inside, "int32"), -1)), axis=0)
    return knp.cast(counts, dtype_of(x)), edges


def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts of each non-negative int in x (per row for 2-D x), optionally weighted."""
    if sparse:
        raise ValueError("bincount: sparse=True is not supported; kgraph tensors are dense")
    x = _tensor(x)
    if not is_int(dtype_of(x)):
        raise TypeError(f"bincount needs integer x, got {dtype_of(x)}")
    length = int(minlength)
    if is_concrete(x):
        length = builtins.max(length, int(np.max(np.asarray(x), initial=-1)) + 1)
    if length <= 0:
        raise ValueError("bincount of a symbolic or traced tensor needs minlength > 0: the number of bins must be "
                         "static")
    counted = one_hot(x, length, dtype="int32" if weights is None else dtype_of(_tensor(weights)))
    if weights is not None:
        counted = knp.multiply(counted, knp.expand_dims(_tensor(weights), -1))
    return knp.sum(counted, axis=-2)


def is_concrete(x) -> bool:
    """Whether x holds values now: not a symbolic tensor and not a JAX tracer inside jit."""
    x = unwrap(x)
    return not is_symbolic(x) and not isinstance(x, jax.core.Tracer)


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None, size=None,
           fill_value=None):
    """The sorted unique elements of a concrete tensor (their number is data-dependent, so not symbolic)."""
    x = unwrap(x)
    if is_symbolic(x):
        raise ValueError("unique: the number of unique elements depends on the data, so it cannot run on symbolic "
                         "tensors; call it on concrete arrays")
    return jnp.unique(jnp.asarray(x), return_index=return_index, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis, size=size, fill_value=fill_value)


def nonzero(x):
    """The indices of non-zero elements of a concrete tensor, one int32 array per axis."""
    x = unwrap(x)
    if is_symbolic(x):
        raise ValueError("nonzero: the number of non-zero elements depends on the data, so it cannot run on symbolic "
                         "tensors; call it on concrete arrays")
    return tuple(i.astype("int32") for i in jnp.nonzero(jnp.asarray(x)))


def ravel(x):
    return knp.reshape(_tensor(x), (-1,))


def moveaxis(x, source, destination):
    """x with axes `source` moved to positions `destination`, the others in order."""
    x = _tensor(x)
    rank = _rank(x)
    source = [_norm_axis(a, rank, "moveaxis") for a in ((source,) if isinstance(source, int) else source)]
    destination = [_norm_axis(a, rank, "moveaxis") for a in
                   ((destination,) if isinstance(destination, int) else destination)]
    if len(source) != len(destination):
        raise ValueError(f"moveaxis: source {source} and destination {destination} need equal lengths")
    order = [a for a in range(rank) if a not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return knp.transpose(x, order)


def swapaxes(x, axis1, axis2):
    x = _tensor(x)
    rank = _rank(x)
    order = list(range(rank))
    a, b = _norm_axis(axis1, rank, "swapaxes"), _norm_axis(axis2, rank, "swapaxes")
    order[a], order[b] = order[b], order[a]
    return knp.transpose(x, order)


def flip(x, axis=None):
    """x reversed along `axis` (every axis when None)."""
    x = _tensor(x)
    rank = _rank(x)
    axes = range(rank) if axis is None else [_norm_axis(a, rank, "flip") for a in
                                             ((axis,) if isinstance(axis, int) else axis)]
    steps = [-1 if a in axes else 1 for a in range(rank)]
    return _slice_op(x, [None] * rank, [None] * rank, steps)


def fliplr(x):
    return flip(x, 1)


def flipud(x):
    return flip(x, 0)


def rot90(array, k=1, axes=(0, 1)):
    """Rotates by 90 degrees k times in the plane of `axes`, from the first toward the second."""
    x = _tensor(array)
    k = int(k) % 4
    a, b = axes
    if k == 1:
        return swapaxes(flip(x, b), a, b)
    if k == 2:
        return flip(flip(x, a), b)
    if k == 3:
        return flip(swapaxes(x, a, b), b)
    return x


def roll(x, shift, axis=None):
    """Elements shifted cyclically by `shift` along `axis` (the flattened tensor when None)."""
    x = _tensor(x)
    if axis is None:
        return knp.reshape(roll(ravel(x), shift, 0), tuple(shape(x)))
    shifts = (shift,) if isinstance(shift, int) else tuple(shift)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if len(axes) != len(shifts):
        shifts = shifts * len(axes) if len(shifts) == 1 else shifts
    for s, a in zip(shifts, axes):
        a = _norm_axis(int(a), _rank(x), "roll")
        size = shape(x)[a]
        if size is None:
            raise ValueError(f"roll: axis {a} of shape {shape(x)} must be known")
        s = int(s) % size if size else 0
        if s:
            head = get_item(x, (builtins.slice(None),) * a + (builtins.slice(size - s, None),))
            tail = get_item(x, (builtins.slice(None),) * a + (builtins.slice(0, size - s),))
            x = concatenate([head, tail], axis=a)
    return x


def append(x1, x2, axis=None):
    """x2 joined after x1 along `axis` (both flattened when None)."""
    x1, x2 = _tensor(x1), _tensor(x2)
    if axis is None:
        return concatenate([ravel(x1), ravel(x2)], axis=0)
    return concatenate([x1, x2], axis=axis)


def _atleast(x, rank: int):
    x = _tensor(x)
    if _rank(x) >= rank:
        return x
    if rank == 2:
        return knp.reshape(x, (1, -1))
    if _rank(x) == 0:
        return knp.reshape(x, (1, 1, 1))
    if _rank(x) == 1:
        return knp.reshape(x, (1, -1, 1))
    return knp.expand_dims(x, -1)


def hstack(xs):
    xs = [_tensor(x) for x in xs]
    return concatenate(xs, axis=0 if _rank(xs[0]) == 1 else 1)


def vstack(xs):
    return concatenate([_atleast(x, 2) for x in xs], axis=0)


def dstack(xs):
    return concatenate([_atleast(x, 3) for x in xs], axis=2)


def array_split(x, indices_or_sections, axis=0):
    """Like split, but an int count need not divide the axis: the first pieces are one longer."""
    x = _tensor(x)
    if not isinstance(indices_or_sections, (int, np.integer)):
        return split(x, indices_or_sections, axis=axis)
    size = shape(x)[_norm_axis(axis, _rank(x), "array_split")]
    sections = int(indices_or_sections)
    base, extra = divmod(size, sections)
    bounds = np.cumsum([base + 1] * extra + [base] * (sections - extra))[:-1]
    return split(x, [int(b) for b in bounds], axis=axis)


def hsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=0 if _rank(_tensor(x)) == 1 else 1)


def vsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=2)


def unstack(x, num=None, axis=0):
    """The slices of x along `axis`, as a list."""
    x = _tensor(x)
    axis = _norm_axis(axis, _rank(x), "unstack")
    size = shape(x)[axis]
    if size is None:
        raise ValueError(f"unstack: axis {axis} of shape {shape(x)} must be known")
    return [knp.squeeze(piece, axis) for piece in split(x, size, axis=axis)]


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The `offset` diagonal of the matrices in the plane (axis1, axis2), on a new last axis."""
    x = _tensor(x)
    rank = _rank(x)
    a1, a2 = _norm_axis(axis1, rank, "diagonal"), _norm_axis(axis2, rank, "diagonal")
    x = knp.transpose(x, [a for a in range(rank) if a not in (a1, a2)] + [a1, a2])
    n, m = shape(x)[-2:]
    if n is None or m is None:
        raise ValueError(f"diagonal: the matrix dims of shape {shape(x)} must be known")
    offset = int(offset)
    length = builtins.max(0, builtins.min(n, m - offset) if offset >= 0 else builtins.min(n + offset, m))
    flat = knp.reshape(x, tuple(shape(x)[:-2]) + (n * m,)) if rank > 2 else knp.reshape(x, (n * m,))
    start = offset if offset >= 0 else -offset * m
    if length == 0:
        return get_item(flat, (Ellipsis, builtins.slice(0, 0)))
    return get_item(flat, (Ellipsis, builtins.slice(start, start + (length - 1) * (m + 1) + 1, m + 1)))


def trace(x, offset=0, axis1=0, axis2=1):
    """Sum of the `offset` diagonal."""
    x = _tensor(x)
    if dtype_of(x) == "bool":
        x = knp.cast(x, "int32")
    return knp.sum(diagonal(x, offset, axis1, axis2), axis=-1)


def diag(x, k=0):
    """The k-th diagonal of a matrix, or a matrix with 1-D x on its k-th diagonal."""
    x = _tensor(x)
    if _rank(x) == 2:
        return diagonal(x, k)
    if _rank(x) != 1:
        raise ValueError(f"diag needs a 1-D or 2-D tensor, got shape {shape(x)}")
    size = shape(x)[0]
    k = int(k)
    n = size + builtins.abs(k)
    mask = np.eye(n, k=k, dtype=bool)
    padded = pad(x, ((0, builtins.abs(k)),)) if k else x
    values = knp.expand_dims(padded, 1) if k >= 0 else knp.expand_dims(padded, 0)
    return knp.where(mask, broadcast_to(values, (n, n)), knp.zeros_like(values))


def diagflat(x, k=0):
    return diag(ravel(x), k)


def _triangle(x, k: int, lower: bool):
    x = _tensor(x)
    n, m = shape(x)[-2:]
    if n is None or m is None:
        raise ValueError(f"{'tril' if lower else 'triu'}: the matrix dims of shape {shape(x)} must be known")
    mask = np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)
    return knp.where(mask, x, knp.zeros_like(x))


def tril(x, k=0):
    """Zeros above the k-th diagonal of the last two axes."""
    return _triangle(x, int(k), True)


def triu(x, k=0):
    """Zeros below the k-th diagonal of the last two axes."""
    return _triangle(x, int(k), False)


def tensordot(x1, x2, axes=2):
    """Sum of products over `axes` (a count of trailing/leading axes, or two lists of axes), as np.tensordot."""
    x1, x2 = promote(_tensor(x1), _tensor(x2))
    r1, r2 = _rank(x1), _rank(x2)
    if isinstance(axes, (int, np.integer)):
        a1, a2 = list(range(r1 - int(axes), r1)), list(range(int(axes)))
    else:
        a1, a2 = ([axes[0]] if isinstance(axes[0], int) else list(axes[0]),
                  [axes[1]] if isinstance(axes[1], int) else list(axes[1]))
        a1, a2 = [a % r1 for a in a1], [a % r2 for a in a2]
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    s1 = [next(letters) for _ in range(r1)]
    s2 = [next(letters) for _ in range(r2)]
    for i, j in zip(a1, a2):
        s2[j] = s1[i]
    out = [s1[i] for i in range(r1) if i not in a1] + [s2[j] for j in range(r2) if j not in a2]

    return einsum(f"{''.join(s1)},{''.join(s2)}->{''.join(out)}", x1, x2)


def inner(x1, x2):
    x1, x2 = _tensor(x1), _tensor(x2)
    if _rank(x1) == 0 or _rank(x2) == 0:
        return knp.multiply(x1, x2)
    return tensordot(x1, x2, axes=([-1], [-1]))


def outer(x1, x2):
    return knp.multiply(knp.expand_dims(ravel(x1), 1), knp.expand_dims(ravel(x2), 0))


def vdot(x1, x2):
    x1, x2 = promote(_tensor(x1), _tensor(x2))
    return knp.cast(knp.sum(knp.multiply(ravel(x1), ravel(x2))), dtype_of(x1))


def kron(x1, x2):
    """The Kronecker product (static shapes)."""
    x1, x2 = promote(_tensor(x1), _tensor(x2))
    rank = builtins.max(_rank(x1), _rank(x2))
    x1 = knp.reshape(x1, (1,) * (rank - _rank(x1)) + tuple(shape(x1)))
    x2 = knp.reshape(x2, (1,) * (rank - _rank(x2)) + tuple(shape(x2)))
    s1, s2 = shape(x1), shape(x2)
    a = knp.reshape(x1, tuple(d for pair in zip(s1, (1,) * rank) for d in pair))
    b = knp.reshape(x2, tuple(d for pair in zip((1,) * rank, s2) for d in pair))
    return knp.reshape(knp.multiply(a, b), tuple(p * q for p, q in zip(s1, s2)))


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or the z component for 2-vectors) along the given axes."""
    if axis is not None:
        axisa = axisb = axisc = axis
    x1, x2 = promote(moveaxis(_tensor(x1), axisa, -1), moveaxis(_tensor(x2), axisb, -1))
    n1, n2 = shape(x1)[-1], shape(x2)[-1]
    if n1 not in (2, 3) or n2 not in (2, 3):
        raise ValueError(f"cross needs vectors of 2 or 3 components, got shapes {shape(x1)} and {shape(x2)}")

    def part(x, i):
        return get_item(x, (Ellipsis, i)) if i < shape(x)[-1] else knp.zeros_like(get_item(x, (Ellipsis, 0)))

    a = [part(x1, i) for i in range(3)]
    b = [part(x2, i) for i in range(3)]
    z = knp.subtract(knp.multiply(a[0], b[1]), knp.multiply(a[1], b[0]))
    if n1 == 2 and n2 == 2:
        return z

    x = knp.subtract(knp.multiply(a[1], b[2]), knp.multiply(a[2], b[1]))
    y = knp.subtract(knp.multiply(a[2], b[0]), knp.multiply(a[0], b[2]))
    return moveaxis(stack([x, y, z], axis=-1), -1, axisc)


def diff(a, n=1, axis=-1):
    """The n-th discrete difference along `axis`."""
    x = _tensor(a)
    rank = _rank(x)
    axis = _norm_axis(axis, rank, "diff")
    before = (builtins.slice(None),) * axis
    for _ in range(int(n)):
        x = knp.subtract(get_item(x, before + (builtins.slice(1, None),)),
                         get_item(x, before + (builtins.slice(None, -1),)))
    return x


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of y along `axis` by the trapezoidal rule (sample points x, or spacing dx)."""
    y = _float(_tensor(y))
    rank = _rank(y)
    axis = _norm_axis(axis, rank, "trapezoid")
    before = (builtins.slice(None),) * axis
    mids = knp.multiply(knp.add(get_item(y, before + (builtins.slice(1, None),)),
                                get_item(y, before + (builtins.slice(None, -1),))), 0.5)
    if x is None:
        return knp.multiply(knp.sum(mids, axis=axis), dx)
    widths = diff(x, axis=axis if _rank(_tensor(x)) == rank else -1)
    if _rank(widths) == 1 and rank > 1:
        target = [1] * rank
        target[axis] = -1
        widths = knp.reshape(widths, tuple(target))
    return knp.sum(knp.multiply(mids, widths), axis=axis)


def vander(x, N=None, increasing=False):
    """Columns of powers of the 1-D x (decreasing unless `increasing`)."""
    x = _tensor(x)
    n = shape(x)[0] if N is None else int(N)
    powers = np.arange(n) if increasing else np.arange(n - 1, -1, -1)
    powers = powers.astype(dtype_of(x) if dtype_of(x) != "bool" else "int32")
    return knp.power(knp.expand_dims(x, -1), powers)


def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D sequences (modes valid, same, full), as np.correlate."""
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: mode must be 'valid', 'same' or 'full', got {mode!r}")
    x1, x2 = promote(_tensor(x1), _tensor(x2))
    if not is_float(dtype_of(x1)):
        x1, x2 = _float(x1), _float(x2)
    n, m = shape(x1)[0], shape(x2)[0]
    if m > n:
        return flip(correlate(x2, x1, mode))
    widths = {"valid": (0, 0), "same": (m // 2, m - 1 - m // 2), "full": (m - 1, m - 1)}[mode]
    x1 = pad(x1, (widths,)) if builtins.any(widths) else x1
    length = n + builtins.sum(widths) - m + 1
    windows = take(x1, np.arange(length)[:, None] + np.arange(m)[None, :], axis=0)
    return knp.matmul(windows, x2)


def corrcoef(x):
    """Pearson correlation coefficients of the rows of x."""
    x = _float(_tensor(x))
    if _rank(x) == 1:
        x = knp.expand_dims(x, 0)
    centered = knp.subtract(x, knp.mean(x, axis=1, keepdims=True))
    cov = knp.matmul(centered, knp.transpose(centered))
    scale = knp.sqrt(diagonal(cov))
    return knp.divide(knp.divide(cov, knp.expand_dims(scale, 1)), knp.expand_dims(scale, 0))


def cdist(x, y):
    """Euclidean distances between the rows of x and of y (batched over leading axes)."""
    x, y = _float_pair(x, y)
    delta = knp.subtract(knp.expand_dims(x, -2), knp.expand_dims(y, -3))
    return knp.sqrt(knp.sum(knp.square(delta), axis=-1))


def isin(x1, x2, assume_unique=False, invert=False):
    """Whether each element of x1 is in x2."""
    x1, x2 = promote(_tensor(x1), _tensor(x2))
    found = any(knp.equal(knp.expand_dims(x1, -1), ravel(x2)), axis=-1)
    return knp.logical_not(found) if invert else found


def select(condlist, choicelist, default=0):
    """Per element, the choice of the first true condition, else `default`."""
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: {len(condlist)} conditions but {len(choicelist)} choices")
    choices = promote(*[_tensor(c) for c in choicelist], default)
    result = choices[-1]
    for cond, choice in zip(reversed(condlist), reversed(choices[:-1])):
        result = knp.where(cond, choice, result)
    return result


def unravel_index(indices, shape):
    """Flat indices as a tuple of coordinate tensors for an array of `shape`."""
    indices = _tensor(indices)
    dims = [int(d) for d in shape]
    strides = np.cumprod([1] + dims[::-1][:-1])[::-1]
    return tuple(knp.mod(knp.floor_divide(indices, int(s)), d) for s, d in zip(strides, dims))


def saturate_cast(x, dtype):
    """Cast that clamps to the target dtype's range instead of wrapping."""
    x = _tensor(x)
    dtype = canonical_dtype(dtype)
    source = dtype_of(x)

    def bounds(d):
        if d == "bool":
            return 0, 1
        info = np.iinfo(d) if is_int(d) else np.finfo(np.dtype("float32") if d == "bfloat16" else d)
        return float(info.min), float(info.max)

    low = builtins.max(bounds(source)[0], bounds(dtype)[0])
    high = builtins.min(bounds(source)[1], bounds(dtype)[1])
    if is_float(source) and is_int(dtype):
        high = float(np.nextafter(np.float32(high), np.float32(0))) if high > 2 ** 24 else high
    if source != "bool" and (low, high) != bounds(source):
        x = knp.clip(x, np.asarray(low).astype(source).item(), np.asarray(high).astype(source).item())
    return knp.cast(x, dtype)


def dtype(x) -> str:
    """x's dtype name, as Keras standardizes it ("float32", "int32", …)."""
    x = unwrap(x)
    return name(x.dtype) if hasattr(x, "dtype") else name(np.asarray(x).dtype)


def is_tensor(x) -> bool:
    """Whether x is a tensor kgraph ops take as is: a JAX array or a symbolic tensor."""
    return is_symbolic(unwrap(x)) or isinstance(unwrap(x), jax.Array)
