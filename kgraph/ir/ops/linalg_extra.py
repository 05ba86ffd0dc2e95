"""Matrix decompositions and solvers over the last two axes, batched over the leading ones."""

from __future__ import annotations

from kgraph.ir.registry import ShapeError, register
from kgraph.ir.shapes import broadcast_shapes
from kgraph.ir.types import TensorType, is_float


def _matrix(op: str, types, square: bool = True) -> TensorType:
    x = types[0]
    if not is_float(x.dtype):
        raise ShapeError(f"{op} needs a floating-point input, got {x.dtype}")
    if x.rank < 2:
        raise ShapeError(f"{op} needs a tensor of rank >= 2 (a batch of matrices), got shape {x.shape}")
    m, n = x.shape[-2:]
    if square and isinstance(m, int) and isinstance(n, int) and m != n:
        raise ShapeError(f"{op} needs square matrices, got shape {x.shape}")
    return x


def _same(op: str):
    def infer(types):
        return [_matrix(op, types)]

    return infer


def _det(types):
    x = _matrix("det", types)
    return [TensorType(x.dtype, x.shape[:-2])]


def _slogdet(types):
    x = _matrix("slogdet", types)
    return [TensorType(x.dtype, x.shape[:-2])] * 2


def _solve(op: str):
    def infer(types, **attrs):
        a, b = types
        _matrix(op, [a])
        if a.dtype != b.dtype:
            raise ShapeError(f"{op} needs a and b of one dtype, got {a.dtype} and {b.dtype}")
        if b.rank == a.rank - 1:
            return [TensorType(a.dtype, broadcast_shapes(a.shape[:-2], b.shape[:-1]) + a.shape[-1:])]
        if b.rank < 2:
            raise ShapeError(f"{op}: b of shape {b.shape} does not fit a of shape {a.shape}")
        return [TensorType(a.dtype, broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-1], b.shape[-1]))]

    return infer


def _min_dim(m, n):
    if isinstance(m, int) and isinstance(n, int):
        return min(m, n)
    return m if isinstance(n, str) and not isinstance(m, str) else n if isinstance(m, str) and isinstance(n, int) \
        else f"min({m},{n})"


def _qr(types, mode):
    x = _matrix("qr", types, square=False)
    if mode not in ("reduced", "complete"):
        raise ShapeError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}")
    *batch, m, n = x.shape
    k = m if mode == "complete" else _min_dim(m, n)
    return [TensorType(x.dtype, (*batch, m, k)), TensorType(x.dtype, (*batch, k, n))]


def _svd(types, full_matrices, compute_uv):
    x = _matrix("svd", types, square=False)
    *batch, m, n = x.shape
    k = _min_dim(m, n)
    s = TensorType(x.dtype, (*batch, k))
    if not compute_uv:
        return [s]
    u_cols, v_rows = (m, n) if full_matrices else (k, k)
    return [TensorType(x.dtype, (*batch, m, u_cols)), s, TensorType(x.dtype, (*batch, v_rows, n))]


def _eigh(types):
    x = _matrix("eigh", types)
    return [TensorType(x.dtype, x.shape[:-1]), x]


def _lu_factor(types):
    x = _matrix("lu_factor", types, square=False)
    *batch, m, n = x.shape
    return [x, TensorType("int32", (*batch, _min_dim(m, n)))]


def _lstsq(types, rcond):
    a, b = types
    _matrix("lstsq", [a], square=False)
    if a.dtype != b.dtype:
        raise ShapeError(f"lstsq needs a and b of one dtype, got {a.dtype} and {b.dtype}")
    if a.rank != 2 or b.rank not in (1, 2):
        raise ShapeError(f"lstsq needs a of rank 2 and b of rank 1 or 2, got shapes {a.shape} and {b.shape}")
    return [TensorType(a.dtype, (a.shape[1],) + b.shape[1:])]


def _pinv(types, rtol):
    x = _matrix("pinv", types, square=False)
    return [TensorType(x.dtype, x.shape[:-2] + (x.shape[-1], x.shape[-2]))]


for _op in ("cholesky", "inv"):
    register(_op, _same(_op), num_inputs=1, doc=f"{_op} of each matrix")
register("det", _det, num_inputs=1, doc="determinant of each matrix")
register("slogdet", _slogdet, num_inputs=1, doc="sign and log of the absolute determinant of each matrix")
register("solve", _solve("solve"), num_inputs=2, doc="x with a @ x == b")
register("solve_triangular", _solve("solve_triangular"), attrs={"lower": False}, num_inputs=2,
         doc="x with a @ x == b for triangular a (only its lower or upper triangle is read)")
register("qr", _qr, attrs={"mode": "reduced"}, num_inputs=1, doc="QR decomposition: q, r")
register("svd", _svd, attrs={"full_matrices": True, "compute_uv": True}, num_inputs=1,
         doc="singular value decomposition: u, s, vh (s alone without compute_uv)")
register("eigh", _eigh, num_inputs=1, doc="eigenvalues (ascending) and eigenvectors of symmetric matrices")
register("lu_factor", _lu_factor, num_inputs=1, doc="LU factorization with partial pivoting: lu, int32 pivots")
register("lstsq", _lstsq, attrs={"rcond": None}, num_inputs=2, doc="least-squares solution of a @ x == b")
register("pinv", _pinv, attrs={"rtol": None}, num_inputs=1, doc="Moore-Penrose pseudo-inverse of each matrix")
