"""NumPy-shaped ops. Each works on symbolic tensors, concrete arrays and inside compiled steps alike."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from kgraph.ir.types import canonical_dtype, is_float
from kgraph.ops.dispatch import apply, convert, dtype_of, promote, unwrap
from kgraph import config
from kgraph.ops.dispatch import result_dtype
from kgraph.tracing import SymbolicDim, SymbolicTensor, symbolic_shape
import jax.numpy as jnp


def _float(x):
    """Integer and bool inputs of float-only math become floatx, as in Keras."""
    dtype = dtype_of(x) or config.floatx()
    return convert(x, dtype if is_float(dtype) else config.floatx())


def _unary(op: str, float_only: bool = False):
    def fn(x):
        return apply(op, _float(x) if float_only else convert(x, dtype_of(x) or _scalar_dtype(x)))

    fn.__name__ = op
    fn.__doc__ = f"Elementwise {op}."
    return fn


def _scalar_dtype(x) -> str:
    return result_dtype(x)


def _binary(op: str):
    def fn(x1, x2):
        return apply(op, *promote(x1, x2))

    fn.__name__ = op
    fn.__doc__ = f"Broadcasting elementwise {op}."
    return fn


negative = _unary("negative")
abs = absolute = _unary("abs")
square = _unary("square")
sign = _unary("sign")
floor = _unary("floor")
ceil = _unary("ceil")
round = _unary("round")
exp = _unary("exp", True)
log = _unary("log", True)
sqrt = _unary("sqrt", True)
rsqrt = _unary("rsqrt", True)
tanh = _unary("tanh", True)
log1p = _unary("log1p", True)
expm1 = _unary("expm1", True)
sin = _unary("sin", True)
cos = _unary("cos", True)
reciprocal = _unary("reciprocal", True)
logical_not = _unary("logical_not")

add = _binary("add")
subtract = _binary("subtract")
multiply = _binary("multiply")
maximum = _binary("maximum")
minimum = _binary("minimum")
power = _binary("power")
floor_divide = _binary("floor_divide")
mod = _binary("mod")
equal = _binary("equal")
not_equal = _binary("not_equal")
less = _binary("less")
less_equal = _binary("less_equal")
greater = _binary("greater")
greater_equal = _binary("greater_equal")


def logical_and(x1, x2):
    return apply("logical_and", convert(x1, "bool"), convert(x2, "bool"))


def logical_or(x1, x2):
    return apply("logical_or", convert(x1, "bool"), convert(x2, "bool"))


def divide(x1, x2):
    """True division; integer inputs give floatx, as in NumPy."""
    x1, x2 = promote(x1, x2)
    if not is_float(dtype_of(x1)):
        x1, x2 = _float(x1), _float(x2)
    return apply("divide", x1, x2)


true_divide = divide


def divide_no_nan(x1, x2):
    """x1 / x2, with 0 where x2 is 0."""
    x1, x2 = promote(_float(x1), _float(x2))
    safe = where(equal(x2, 0), 1, x2)
    return where(equal(x2, 0), 0, apply("divide", x1, safe))


def matmul(x1, x2):
    """NumPy matmul; two int8 operands multiply into int32, as Keras' int8 matmul does."""
    if dtype_of(x1) == "int8" and dtype_of(x2) == "int8":
        return apply("matmul_integer", x1, x2)
    return apply("matmul", *promote(x1, x2))


dot = matmul


def where(condition, x1, x2):
    x1, x2 = promote(x1, x2)
    return apply("where", convert(condition, "bool"), x1, x2)


def clip(x, x_min, x_max):
    return apply("clip", x if dtype_of(x) else convert(x, _scalar_dtype(x)), min=x_min, max=x_max)


def cast(x, dtype):
    return convert(x, canonical_dtype(dtype))


def convert_to_tensor(x, dtype=None):
    """`x` as a tensor (a JAX array when concrete), optionally cast."""
    x = unwrap(x)
    if dtype is not None:
        return convert(x, canonical_dtype(dtype))
    if hasattr(x, "dtype") and not isinstance(x, np.ndarray):
        return x
    return jnp.asarray(x)


def convert_to_numpy(x) -> np.ndarray:
    return np.asarray(unwrap(x))


def _reduce(op: str, float_only: bool = False):
    def fn(x, axis=None, keepdims=False):
        x = _float(x) if float_only else convert(x, dtype_of(x) or _scalar_dtype(x))
        if op in ("sum", "prod") and dtype_of(x) == "bool":
            x = convert(x, "int32")
        return apply(op, x, axis=_axis(axis), keepdims=keepdims)

    fn.__name__ = op
    fn.__doc__ = f"{op} over `axis` (all axes when None)."
    return fn


def _axis(axis):
    if axis is None or isinstance(axis, int):
        return axis
    return tuple(int(a) for a in axis)


sum = _reduce("sum")
max = amax = _reduce("max")
min = amin = _reduce("min")
prod = _reduce("prod")
mean = _reduce("mean", True)
logsumexp = _reduce("logsumexp", True)


def var(x, axis=None, keepdims=False):
    centered = subtract(_float(x), mean(x, axis=axis, keepdims=True))
    return mean(square(centered), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def argmax(x, axis=None, keepdims=False):
    if axis is None:
        return apply("argmax", reshape(x, (-1,)), axis=0, keepdims=False)
    return apply("argmax", x, axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims=False):
    if axis is None:
        return apply("argmin", reshape(x, (-1,)), axis=0, keepdims=False)
    return apply("argmin", x, axis=axis, keepdims=keepdims)


def reshape(x, newshape):
    """Reshape; -1 is inferred, and a None (unknown) dim is copied from x's dim at the same index."""
    if isinstance(newshape, (int, SymbolicDim)):
        newshape = (newshape,)
    newshape = _traced_reshape_dims(x, tuple(newshape))
    shape = tuple(0 if d is None else int(d) for d in newshape)
    if 0 in tuple(d for d in newshape if d is not None):
        raise ValueError(f"reshape: zero-sized dims are not supported, got newshape={tuple(newshape)}")
    return apply("reshape", x, shape=shape)


def _traced_reshape_dims(x, newshape: tuple) -> tuple:
    """A SymbolicDim in `newshape` is x's own dim at its index (kept, as None) or else the one inferred dim (-1)."""
    own = shape(x)
    symbols = unwrap(x).type.shape if isinstance(unwrap(x), SymbolicTensor) else ()
    dims = []
    for i, d in enumerate(newshape):
        if isinstance(d, SymbolicDim) and i < len(symbols) and symbols[i] == d.dim and own[i] is None:
            d = None
        dims.append(d)
    traced = [i for i, d in enumerate(dims) if isinstance(d, SymbolicDim)]
    if not traced:
        return tuple(dims)
    if len(traced) == 1 and -1 in dims:
        dims[dims.index(-1)] = _inferred_beside(dims[traced[0]], symbols, [d for d in dims if isinstance(d, int)])
    if len(traced) > 1 or -1 in dims:
        raise ValueError(f"reshape: the shape {newshape} has dims known only when the model runs that are not "
                         f"x's own dims at their index (x has shape {own}); reshape takes one such dim, standing "
                         "for the -1 it is computed as")
    dims[traced[0]] = -1
    return tuple(dims)


def _monomial(expr, refs) -> tuple[int, list] | None:
    """A dim expression as `(factor, symbols)` when it is a product of ints and dims, else None."""
    if isinstance(expr, int):
        return expr, []
    if expr[0] == "dim":
        dim = refs[expr[1]].type.shape[expr[2]]
        return (dim, []) if isinstance(dim, int) else (1, [dim])
    if expr[0] != "multiply":
        return None
    a, b = _monomial(expr[1], refs), _monomial(expr[2], refs)
    return None if a is None or b is None else (a[0] * b[0], a[1] + b[1])


def _inferred_beside(dim: SymbolicDim, symbols: tuple, static: list) -> int:
    """The static size a -1 stands for beside traced `dim`, where `dim` is a product covering x's unknown dims
    (`(batch * 2, -1)` of a `(batch, 12)` x is 6); -1 (not known) otherwise."""
    monomial = _monomial(dim.expr, dim.refs)
    unknown = sorted(s for s in symbols if isinstance(s, str))
    if monomial is None or sorted(monomial[1]) != unknown:
        return -1
    total = int(np.prod([s for s in symbols if isinstance(s, int)]))
    known = monomial[0] * int(np.prod([d for d in static if d != -1]))
    return total // known if known > 0 and total % known == 0 else -1


def transpose(x, axes=None):
    ndim = len(unwrap(x).shape) if hasattr(unwrap(x), "shape") else np.ndim(x)
    perm = tuple(reversed(range(ndim))) if axes is None else tuple(int(a) % ndim for a in axes)
    return apply("transpose", x, perm=perm)


def expand_dims(x, axis):
    return apply("expand_dims", x, axis=int(axis))


def squeeze(x, axis=None):
    return apply("squeeze", x, axis=_axis(axis))


def concatenate(xs: Sequence, axis=0):
    return apply("concatenate", *promote(*xs), axis=int(axis))


def stop_gradient(x):
    return apply("stop_gradient", x)


def zeros_like(x, dtype=None):
    return apply("full_like", x, value=0, dtype=canonical_dtype(dtype) if dtype else None)


def ones_like(x, dtype=None):
    return apply("full_like", x, value=1, dtype=canonical_dtype(dtype) if dtype else None)


def full_like(x, fill_value, dtype=None):
    return apply("full_like", x, value=fill_value, dtype=canonical_dtype(dtype) if dtype else None)


def shape(x) -> tuple:
    """The shape, with None for dims unknown until run time: what kgraph's own shape checks read."""
    return tuple(unwrap(x).shape)


def traced_shape(x) -> tuple:
    """The shape (`kgraph.ops.shape`). Inside a traced `call`, a dim unknown until run time (the batch) is a
    `SymbolicDim`: an int-like that creation and random functions, reshape, tile and arithmetic take, sized per
    batch when the model runs."""
    x = unwrap(x)
    if isinstance(x, SymbolicTensor):
        return symbolic_shape(x)
    return tuple(x.shape)


def ndim(x) -> int:
    return len(shape(x))


def size(x) -> int:
    return int(np.prod(shape(x)))
