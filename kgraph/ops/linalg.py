"""`kgraph.ops.linalg`: decompositions, solvers, norms and inverses over the last two axes (batched)."""

from __future__ import annotations

import numpy as np

from kgraph.ops import numpy as knp
from kgraph.ops.array import _tensor
from kgraph.ops.dispatch import apply, dtype_of, promote
from kgraph.ops.core_extra import jvp as _jvp

__all__ = [
    "cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq", "lu_factor", "matrix_rank", "norm",
    "pinv", "qr", "slogdet", "solve", "solve_triangular", "svd",
]

_float = knp._float


def _matrix_t(x):
    rank = knp.ndim(x)
    return knp.transpose(x, tuple(range(rank - 2)) + (rank - 1, rank - 2))


def cholesky(x, upper=False):
    """The lower (or upper) Cholesky factor of positive-definite matrices."""
    lower = apply("cholesky", _float(_tensor(x)))
    return _matrix_t(lower) if upper else lower


def cholesky_inverse(x, upper=False):
    """The inverse of A from its Cholesky factor x (A = x x^T, or x^T x when `upper`)."""
    x = _float(_tensor(x))
    a = knp.matmul(_matrix_t(x), x) if upper else knp.matmul(x, _matrix_t(x))
    return inv(a)


def det(x):
    return apply("det", _float(_tensor(x)))


def slogdet(x):
    """(sign, log|det|) of each matrix."""
    return tuple(apply("slogdet", _float(_tensor(x))))


def inv(x):
    return apply("inv", _float(_tensor(x)))


def eig(x):
    """Eigen-decomposition of general matrices: its values are complex, which kgraph tensors cannot hold."""
    raise TypeError("eig returns complex eigenvalues, which kgraph tensors (real dtypes only) cannot hold; use eigh "
                    "for symmetric matrices")


def eigh(x):
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices."""
    return tuple(apply("eigh", _float(_tensor(x))))


def lu_factor(x):
    """LU factorization with partial pivoting: (lu, int32 pivots), as jax.scipy.linalg.lu_factor."""
    return tuple(apply("lu_factor", _float(_tensor(x))))


def _float_pair(a, b):
    a, b = promote(_tensor(a), _tensor(b))
    return (_float(a), _float(b)) if not dtype_of(a).startswith(("float", "bfloat")) else (a, b)


def solve(a, b):
    """x with a @ x == b."""
    return apply("solve", *_float_pair(a, b))


def solve_triangular(a, b, lower=False):
    """x with a @ x == b for triangular a."""
    return apply("solve_triangular", *_float_pair(a, b), lower=bool(lower))


def lstsq(a, b, rcond=None):
    """The least-squares solution of a @ x == b."""
    return apply("lstsq", *_float_pair(a, b), rcond=rcond)


def qr(x, mode="reduced"):
    """(q, r) with x == q @ r."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}")
    return tuple(apply("qr", _float(_tensor(x)), mode=mode))


def svd(x, full_matrices=True, compute_uv=True):
    """(u, s, vh) with x == u @ diag(s) @ vh; s alone when not `compute_uv`."""
    result = apply("svd", _float(_tensor(x)), full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    return tuple(result) if compute_uv else result


def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse."""
    return apply("pinv", _float(_tensor(x)), rtol=rcond)


def matrix_rank(x, tol=None):
    """The number of singular values above `tol` (default: max(s) * max(m, n) * eps), int32."""
    x = _float(_tensor(x))
    if knp.ndim(x) < 2:
        raise ValueError(f"matrix_rank needs a tensor of rank >= 2, got shape {knp.shape(x)}")
    s = svd(x, compute_uv=False)
    if tol is None:
        m, n = knp.shape(x)[-2:]
        eps = float(np.finfo(np.dtype(dtype_of(x) if dtype_of(x) != "bfloat16" else "float32")).eps)
        tol = knp.multiply(knp.max(s, axis=-1, keepdims=True), max(m, n) * eps)
    return knp.sum(knp.cast(knp.greater(s, tol), "int32"), axis=-1)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector norms (one axis) or matrix norms (two axes; all axes flattened when None and ord is None)."""
    x = _float(_tensor(x))
    rank = knp.ndim(x)
    if axis is None:
        if ord is None:
            return knp.sqrt(knp.sum(knp.square(x), keepdims=keepdims))
        axis = tuple(range(rank))
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    axis = tuple(a % rank for a in axis)
    if len(axis) == 1:
        return _vector_norm(x, ord, axis[0], keepdims)
    if len(axis) == 2:
        return _matrix_norm(x, ord, axis, keepdims)
    raise ValueError(f"norm: axis must name one or two axes, got {axis}")


def _vector_norm(x, ord, axis, keepdims):
    a = knp.abs(x)
    if ord is None or ord == 2:
        return knp.sqrt(knp.sum(knp.square(x), axis=axis, keepdims=keepdims))
    if ord == np.inf or ord == "inf":
        return knp.max(a, axis=axis, keepdims=keepdims)
    if ord == -np.inf or ord == "-inf":
        return knp.min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return knp.cast(knp.sum(knp.cast(knp.not_equal(x, 0), "int32"), axis=axis, keepdims=keepdims), dtype_of(x))
    if ord == 1:
        return knp.sum(a, axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"norm: ord {ord!r} is not valid for a vector norm")
    return knp.power(knp.sum(knp.power(a, float(ord)), axis=axis, keepdims=keepdims), 1.0 / float(ord))


def _matrix_norm(x, ord, axis, keepdims):
    row, col = axis
    if ord is None or ord == "fro":
        return knp.sqrt(knp.sum(knp.square(x), axis=axis, keepdims=keepdims))
    a = knp.abs(x)
    if ord in (1, -1):
        reduce = knp.max if ord == 1 else knp.min
        sums = knp.sum(a, axis=row, keepdims=True)
        result = reduce(sums, axis=col, keepdims=True)
    elif ord in (np.inf, -np.inf, "inf", "-inf"):
        reduce = knp.max if ord in (np.inf, "inf") else knp.min
        sums = knp.sum(a, axis=col, keepdims=True)
        result = reduce(sums, axis=row, keepdims=True)
    elif ord in (2, -2, "nuc"):
        rank = knp.ndim(x)
        moved = knp.transpose(x, tuple(i for i in range(rank) if i not in axis) + axis)
        s = svd(moved, compute_uv=False)
        s = knp.sum(s, axis=-1) if ord == "nuc" else (knp.max if ord == 2 else knp.min)(s, axis=-1)
        for a_ in sorted(axis):
            s = knp.expand_dims(s, a_)
        result = s
    else:
        raise ValueError(f"norm: ord {ord!r} is not valid for a matrix norm")
    return result if keepdims else knp.squeeze(result, axis)


def jvp(fun, primals, tangents, has_aux=False):
    """(outputs, tangent outputs) of `fun` at `primals` along `tangents`, by forward-mode differentiation."""
    return _jvp(fun, primals, tangents, has_aux=has_aux)
