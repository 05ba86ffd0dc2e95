"""Tensor creation from shapes and ranges: ones, zeros, full, eye, arange, linspace, windows.

Shapes and counts are static Python values, so these build constants; on symbolic tensors (linspace between
tensors, `full` with a tensor fill) they record the arithmetic that makes them.
"""

from __future__ import annotations

import numpy as np

from kgraph.ir.types import canonical_dtype, is_float
from kgraph.ops import numpy as knp
from kgraph.ops.array import _tensor, broadcast_to, get_item
from kgraph.ops.dispatch import apply, dtype_of, is_symbolic, result_dtype, unwrap
from kgraph.tracing import SymbolicDim, merge_dims
from kgraph import config
import jax.numpy as jnp

__all__ = [
    "arange", "array", "bartlett", "blackman", "empty", "empty_like", "eye", "full", "geomspace", "hamming", "hanning",
    "identity", "kaiser", "linspace", "logspace", "meshgrid", "ones", "tri", "zeros",
]


def _floatx() -> str:
    return config.floatx()


def _constant(array: np.ndarray, dtype: str):
    return jnp.asarray(np.asarray(array).astype(dtype))


def _dims(shape) -> tuple:
    return (shape,) if isinstance(shape, (int, np.integer, SymbolicDim)) else tuple(shape)


def _is_traced(shape) -> bool:
    """Whether `shape` holds a SymbolicDim (a traced batch dim), so the result is sized at run time."""
    return any(isinstance(d, SymbolicDim) for d in _dims(shape))


def _shape(shape, name: str) -> tuple[int, ...]:
    shape = _dims(shape)
    for d in shape:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer, SymbolicDim)) or (
                not isinstance(d, SymbolicDim) and d < 0):
            raise ValueError(f"{name}: shape must be non-negative Python ints or dims from ops.shape, got {shape}")
    return shape if _is_traced(shape) else tuple(int(d) for d in shape)


def _fill(shape, value, dtype: str):
    """A tensor of a shape holding traced dims, filled with `value` when the model runs."""
    refs, exprs = merge_dims(shape)
    return apply("fill", *refs, shape=tuple(exprs), value=value, dtype=dtype)


def _dtype(dtype, default: str) -> str:
    return canonical_dtype(dtype) if dtype is not None else default


def zeros(shape, dtype=None):
    """A tensor of `shape` filled with 0 (floatx unless `dtype`)."""
    shape = _shape(shape, "zeros")
    if _is_traced(shape):
        return _fill(shape, 0, _dtype(dtype, _floatx()))
    return _constant(np.zeros(shape), _dtype(dtype, _floatx()))


def ones(shape, dtype=None):
    """A tensor of `shape` filled with 1 (floatx unless `dtype`)."""
    shape = _shape(shape, "ones")
    if _is_traced(shape):
        return _fill(shape, 1, _dtype(dtype, _floatx()))
    return _constant(np.ones(shape), _dtype(dtype, _floatx()))


empty = zeros


def full(shape, fill_value, dtype=None):
    """A tensor of `shape` filled with `fill_value` (a scalar or a tensor that broadcasts to `shape`), floatx unless
    `dtype`."""
    fill = unwrap(fill_value)
    shape = _shape(shape, "full")
    if is_symbolic(fill):
        result = broadcast_to(fill, shape)
        return knp.cast(result, dtype) if dtype is not None else result
    if _is_traced(shape) and np.ndim(fill) == 0:
        return _fill(shape, np.asarray(fill).item(), _dtype(dtype, _floatx()))
    if _is_traced(shape):
        return broadcast_to(_constant(fill, _dtype(dtype, _floatx())), shape)
    return _constant(np.broadcast_to(np.asarray(fill), _shape(shape, "full")), _dtype(dtype, _floatx()))


def empty_like(x, dtype=None):
    """A tensor of x's shape and dtype (or `dtype`), filled with zeros."""
    return knp.zeros_like(x, dtype=dtype)


def eye(N, M=None, k=0, dtype=None):
    """A 2-D tensor with ones on the k-th diagonal."""
    return _constant(np.eye(int(N), None if M is None else int(M), int(k)), _dtype(dtype, _floatx()))


def identity(n, dtype=None):
    """The n x n identity matrix."""
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below the k-th diagonal of an N x M matrix."""
    return _constant(np.tri(int(N), None if M is None else int(M), int(k)), _dtype(dtype, _floatx()))


def _scalar_kind(values) -> str:
    dtypes = [dtype_of(v) for v in values if v is not None and dtype_of(v) is not None]
    if dtypes:
        return result_dtype(*[v for v in values if v is not None])
    return _floatx() if any(isinstance(v, float) for v in values) else "int32"


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop) by `step`; int32 for ints, floatx for floats, as Keras."""
    if any(isinstance(v, SymbolicDim) for v in (start, stop)) and isinstance(step, (type(None), int, np.integer)):
        return _traced_arange(start, stop, 1 if step is None else int(step), dtype)
    values = [unwrap(v) for v in (start, stop, step)]
    if any(is_symbolic(v) for v in values):
        raise ValueError("arange needs static start, stop and step (Python numbers or arrays), got symbolic tensors; "
                         "the length of its result must be known when the graph is built")
    default = _scalar_kind(values)
    start, stop, step = (np.asarray(v).item() if v is not None else None for v in values)
    if stop is None:
        start, stop = 0, start
    return _constant(np.arange(start, stop, 1 if step is None else step), _dtype(dtype, default))


def _traced_arange(start, stop, step: int, dtype):
    """arange over a traced dim: a running count of ones, as long as the range, scaled and shifted."""
    if stop is None:
        start, stop = 0, start
    if step <= 0:
        raise ValueError(f"arange over a dim known only at run time needs a positive int step, got {step}")
    length = (stop - start + (step - 1)) // step
    counts = knp.subtract(apply("cumsum", _fill((length,), 1, "int32"), axis=0), 1)
    values = knp.add(knp.multiply(counts, step), start) if step != 1 or not isinstance(start, int) or start else counts
    return knp.cast(values, canonical_dtype(dtype)) if dtype is not None else values


def array(x, dtype=None):
    """`x` as a tensor, optionally cast."""
    return knp.convert_to_tensor(x, dtype=dtype)


def _float_result(*xs) -> str:
    """Keras' dtype for linspace-like results: the inputs' common float type, floatx for ints and Python numbers."""
    dtypes = [dtype_of(x) for x in xs if dtype_of(x) is not None]
    common = result_dtype(*xs) if dtypes else _floatx()
    return common if is_float(common) else _floatx()


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced values from start to stop (tensors broadcast; samples along a new `axis`)."""
    num = int(num)
    if num < 0:
        raise ValueError(f"linspace: num must be non-negative, got {num}")
    compute = _float_result(start, stop)
    start, stop = knp.cast(_tensor(start), compute), knp.cast(_tensor(stop), compute)
    start, stop = knp.add(start, knp.zeros_like(stop)), knp.add(stop, knp.zeros_like(start))
    div = (num - 1) if endpoint else num
    step = knp.divide(knp.subtract(stop, start), float(max(div, 1)))
    steps = np.arange(num).reshape((num,) + (1,) * knp.ndim(start)).astype(compute)
    samples = knp.add(knp.expand_dims(start, 0), knp.multiply(steps, knp.expand_dims(step, 0)))
    if endpoint and num > 1:
        samples = knp.concatenate([get_item(samples, slice(None, -1)), knp.expand_dims(stop, 0)], axis=0)
    if axis != 0:
        rank = knp.ndim(samples)
        order = list(range(1, rank))
        order.insert(axis % rank, 0)
        samples = knp.transpose(samples, order)
    samples = knp.cast(samples, _dtype(dtype, compute))
    return (samples, step) if retstep else samples


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """base ** linspace(start, stop)."""
    exponents = linspace(start, stop, num, endpoint=endpoint, axis=axis)
    result = knp.power(knp.cast(base, dtype_of(exponents)), exponents)
    return knp.cast(result, _dtype(dtype, dtype_of(exponents)))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Values spaced evenly on a log scale from start to stop (the sign of start kept)."""
    compute = _float_result(start, stop)
    start, stop = knp.cast(_tensor(start), compute), knp.cast(_tensor(stop), compute)
    logs = linspace(knp.log(knp.abs(start)), knp.log(knp.abs(stop)), num, endpoint=endpoint, axis=axis)
    result = knp.multiply(knp.exp(logs), knp.sign(start))
    return knp.cast(result, _dtype(dtype, compute))


def meshgrid(*x, indexing="xy"):
    """Coordinate matrices from 1-D coordinate vectors ("xy": Cartesian, "ij": matrix indexing)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    vectors = [knp.reshape(_tensor(v), (-1,)) for v in x]
    sizes = [knp.shape(v)[0] for v in vectors]
    if indexing == "xy" and len(vectors) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, v in enumerate(vectors):
        position = i if indexing == "ij" or len(vectors) < 2 or i > 1 else 1 - i
        shape = [1] * len(vectors)
        shape[position] = -1
        grids.append(broadcast_to(knp.reshape(v, tuple(shape)), tuple(sizes)))
    return grids


def _window(fn, m, *args):
    return _constant(fn(int(m), *args), _floatx())


def bartlett(x):
    """The Bartlett (triangular) window of length x."""
    return _window(np.bartlett, x)


def blackman(x):
    """The Blackman window of length x."""
    return _window(np.blackman, x)


def hamming(x):
    """The Hamming window of length x."""
    return _window(np.hamming, x)


def hanning(x):
    """The Hann window of length x."""
    return _window(np.hanning, x)


def kaiser(x, beta):
    """The Kaiser window of length x with shape parameter beta."""
    return _window(np.kaiser, x, float(beta))
