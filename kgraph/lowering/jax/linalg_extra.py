"""JAX rules for decompositions and solvers."""

import jax
import jax.numpy as jnp
import jax.scipy as jsp

from kgraph.lowering.jax.registry import jax_rule

for _op, _fn in {"cholesky": jnp.linalg.cholesky, "inv": jnp.linalg.inv, "det": jnp.linalg.det,
                 "solve": jnp.linalg.solve}.items():
    jax_rule(_op)(lambda *xs, _fn=_fn: _fn(*xs))


@jax_rule("slogdet")
def _slogdet(x):
    return tuple(jnp.linalg.slogdet(x))


@jax_rule("solve_triangular")
def _solve_triangular(a, b, lower):
    return jsp.linalg.solve_triangular(a, b, lower=lower)


@jax_rule("qr")
def _qr(x, mode):
    return tuple(jnp.linalg.qr(x, mode=mode))


@jax_rule("svd")
def _svd(x, full_matrices, compute_uv):
    result = jnp.linalg.svd(x, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(result) if compute_uv else result


@jax_rule("eigh")
def _eigh(x):
    return tuple(jnp.linalg.eigh(x))


@jax_rule("lu_factor")
def _lu_factor(x):
    fn = jsp.linalg.lu_factor
    for _ in range(x.ndim - 2):
        fn = jax.vmap(fn)
    lu, pivots = fn(x)
    return lu, pivots.astype("int32")


@jax_rule("lstsq")
def _lstsq(a, b, rcond):
    return jnp.linalg.lstsq(a, b, rcond=rcond)[0]


@jax_rule("pinv")
def _pinv(x, rtol):
    return jnp.linalg.pinv(x, rtol=rtol)
