"""Keras' core ops beyond control flow: map, switch, associative_scan, vectorized_map, vectorize,
custom_gradient, jvp, and the dtype views.

Inside a trace, map and associative_scan record a `scan` and switch records nested `cond`s; on arrays (eagerly
or under `jax.jit`) they run JAX's own primitives.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from kgraph.ops import numpy as knp
from kgraph.ops.control_flow import _tracing, cond, scan
from kgraph.ops.dispatch import is_symbolic, unwrap
from kgraph.ir.types import canonical_dtype

__all__ = [
    "associative_scan", "custom_gradient", "jvp", "map", "rearrange", "switch", "vectorize", "vectorized_map",
    "view", "view_as_complex", "view_as_real",
]


def map(f: Callable, xs):
    """`f` applied to each slice of `xs` along its leading axis; the results stacked."""
    if _tracing(xs) is None:
        return jax.lax.map(f, xs)
    return scan(lambda carry, x: (carry, f(x)), knp.zeros_like(np.zeros((), "int32")), xs)[1]


def switch(index, branches, *operands):
    """`branches[index](*operands)`, index clamped into range."""
    branches = list(branches)
    if not branches:
        raise ValueError("switch needs at least one branch")
    index = unwrap(index)
    if isinstance(index, (int, np.integer)):
        return branches[int(np.clip(index, 0, len(branches) - 1))](*operands)
    if _tracing(index, operands) is None:
        return jax.lax.switch(index, branches, *operands)
    index = knp.clip(knp.cast(index, "int32"), 0, len(branches) - 1)

    def pick(i):
        if i == len(branches) - 1:
            return branches[i](*operands)
        return cond(knp.equal(index, i), lambda: branches[i](*operands), lambda: pick(i + 1))

    return pick(0)


def associative_scan(f: Callable, elems, reverse=False, axis=0):
    """Inclusive scan of the associative binary `f` along `axis` of `elems` (a tensor or a structure of them)."""
    if _tracing(elems) is None:
        return jax.lax.associative_scan(f, elems, reverse=reverse, axis=axis)
    leaves, structure = jax.tree_util.tree_flatten(elems)
    if axis != 0:
        leaves = [knp.transpose(x, _to_front(knp.ndim(x), axis)) for x in leaves]
    first = [x[-1] if reverse else x[0] for x in leaves]
    rest = [x[:-1] if reverse else x[1:] for x in leaves]

    def step(carry, x):
        a = jax.tree_util.tree_unflatten(structure, carry)
        b = jax.tree_util.tree_unflatten(structure, x)
        out = jax.tree_util.tree_flatten(f(b, a) if reverse else f(a, b))[0]
        return out, out

    _, ys = scan(step, first, rest, reverse=reverse)
    stacked = [knp.concatenate([y, knp.expand_dims(c, 0)] if reverse else [knp.expand_dims(c, 0), y], axis=0)
               for c, y in zip(first, ys)]
    if axis != 0:
        stacked = [knp.transpose(x, _from_front(knp.ndim(x), axis)) for x in stacked]
    return jax.tree_util.tree_unflatten(structure, stacked)


def _to_front(rank: int, axis: int) -> tuple[int, ...]:
    axis %= rank
    return (axis,) + tuple(a for a in range(rank) if a != axis)


def _from_front(rank: int, axis: int) -> tuple[int, ...]:
    return tuple(np.argsort(_to_front(rank, axis)))


def vectorized_map(function: Callable, elements):
    """`function` applied to each slice of `elements` along axis 0 (jax.vmap on arrays, a scan when tracing)."""
    if _tracing(elements) is None:
        return jax.vmap(function)(elements)
    return map(function, elements)


def vectorize(pyfunc: Callable, *, excluded=None, signature=None):
    """A version of `pyfunc` that maps over its inputs' elements with NumPy broadcasting, as np.vectorize."""
    vectorized = jnp.vectorize(pyfunc, excluded=excluded or set(), signature=signature)

    def wrapper(*args, **kwargs):
        if any(is_symbolic(unwrap(a)) for a in jax.tree_util.tree_leaves((args, kwargs))):
            raise ValueError("vectorize runs on arrays (eagerly or under jax.jit), not on symbolic tensors; use "
                             "vectorized_map inside a layer's call()")
        return vectorized(*args, **kwargs)

    return wrapper


def custom_gradient(f: Callable):
    """Decorates `f(*args) -> (output, grad_fn)` so that gradients use `grad_fn(*upstream)`, as Keras' JAX backend."""

    @jax.custom_gradient
    def wrapper(*args, **kwargs):
        if any(is_symbolic(unwrap(a)) for a in jax.tree_util.tree_leaves((args, kwargs))):
            raise ValueError("custom_gradient runs on arrays (eagerly or under jax.jit), not on symbolic tensors")
        output, grad_fn = f(*args, **kwargs)
        return output, grad_fn

    return wrapper


def jvp(fun: Callable, primals, tangents, has_aux=False):
    """(fun(*primals), the Jacobian of fun at primals times tangents), by forward-mode differentiation."""
    if any(is_symbolic(unwrap(a)) for a in jax.tree_util.tree_leaves((primals, tangents))):
        raise ValueError("jvp runs on arrays (eagerly or under jax.jit), not on symbolic tensors")
    return jax.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)


def view(x, dtype=None):
    """The bytes of concrete `x` reinterpreted as `dtype` (the last axis rescales when item sizes differ)."""
    x = unwrap(x)
    if is_symbolic(x):
        raise ValueError("view reinterprets bytes of concrete arrays; it cannot run on symbolic tensors")
    x = jnp.asarray(x)
    if dtype is None:
        return x

    target = jnp.dtype(canonical_dtype(dtype))
    if target.itemsize == x.dtype.itemsize:
        return jax.lax.bitcast_convert_type(x, target)
    if target.itemsize < x.dtype.itemsize:
        out = jax.lax.bitcast_convert_type(x, target)
        return out.reshape(x.shape[:-1] + (-1,))
    ratio = target.itemsize // x.dtype.itemsize
    return jax.lax.bitcast_convert_type(x.reshape(x.shape[:-1] + (-1, ratio)), target)


def view_as_complex(x):
    """Complex numbers from a trailing (real, imaginary) axis: kgraph tensors are real, so this raises."""
    raise TypeError("view_as_complex builds complex tensors, which kgraph does not have; keep (real, imaginary) "
                    "pairs, as kgraph.ops.fft takes and returns")


def view_as_real(x):
    """A trailing (real, imaginary) axis from complex x: kgraph tensors are real, so this raises."""
    raise TypeError("view_as_real takes complex tensors, which kgraph does not have; kgraph.ops.fft takes and "
                    "returns (real, imaginary) pairs")


def rearrange(tensor, pattern: str, **axes_lengths):
    """einops-style rearrangement: "b (h w) c -> b h w c", with sizes of split groups from `axes_lengths`."""
    lhs, arrow, rhs = pattern.partition("->")
    if not arrow:
        raise ValueError(f"rearrange: pattern must contain '->', got {pattern!r}")
    left, right = _groups(lhs, pattern), _groups(rhs, pattern)
    left_names = [n for g in left for n in g]
    right_names = [n for g in right for n in g]
    if sorted(left_names) != sorted(right_names) or len(set(left_names)) != len(left_names):
        raise ValueError(f"rearrange: both sides of {pattern!r} must name the same axes once each")
    x = tensor
    dims = knp.shape(x)
    if len(dims) != len(left):
        raise ValueError(f"rearrange: {pattern!r} names {len(left)} input axes, got a tensor of rank {len(dims)}")
    sizes = {k: int(v) for k, v in axes_lengths.items()}
    for group, d in zip(left, dims):
        unknown = [n for n in group if n not in sizes]
        known = int(np.prod([sizes[n] for n in group if n in sizes]))
        if len(unknown) == 1:
            sizes[unknown[0]] = None if d is None else d // known
        elif len(unknown) > 1:
            raise ValueError(f"rearrange: group {group} of {pattern!r} needs sizes for all but one axis")
    x = knp.reshape(x, tuple(sizes[n] for n in left_names)) if any(len(g) != 1 for g in left) else x
    x = knp.transpose(x, tuple(left_names.index(n) for n in right_names))
    if any(len(g) != 1 for g in right):
        out = []
        for g in right:
            group_sizes = [sizes[n] for n in g]
            out.append(None if None in group_sizes else int(np.prod(group_sizes)))
        if out.count(None) > 1:
            raise ValueError(f"rearrange: at most one output axis of {pattern!r} may have an unknown size")
        x = knp.reshape(x, tuple(-1 if d is None else d for d in out))
    return x


def _groups(side: str, pattern: str) -> list[list[str]]:
    groups, current = [], None
    for token in side.replace("(", " ( ").replace(")", " ) ").split():
        if token == "(":
            if current is not None:
                raise ValueError(f"rearrange: nested parentheses in {pattern!r}")
            current = []
        elif token == ")":
            if current is None:
                raise ValueError(f"rearrange: unbalanced parentheses in {pattern!r}")
            groups.append(current)
            current = None
        else:
            if current is None:
                groups.append([token])
            else:
                current.append(token)
    if current is not None:
        raise ValueError(f"rearrange: unbalanced parentheses in {pattern!r}")
    return groups
