"""Autocasting under a mixed policy: a layer's floating inputs and variable reads are cast to its compute dtype.

Keras does this in `Layer.__call__` (inputs) and in `Variable.value` inside an `AutocastScope` (variables). In a
trace the casts are IR `cast` nodes, so the compiled step computes in half precision while the parameters stay
float32.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import jax
import jax.numpy as jnp
import numpy as np

from kgraph import context
from kgraph.ir.types import DTYPES, is_float
from kgraph.tracing import SymbolicTensor


def _stack() -> list:
    return context.current().autocast


def current_dtype() -> str | None:
    """The dtype variable reads are cast to on this thread (None outside a mixed layer's call)."""
    stack = _stack()
    return stack[-1] if stack else None


@contextlib.contextmanager
def autocast_scope(dtype: str | None) -> Iterator[None]:
    """Inside, floating variables with `autocast` read as `dtype` (None turns autocasting off)."""
    stack = _stack()
    stack.append(dtype)
    try:
        yield
    finally:
        stack.pop()


def layer_scope(autocast: bool, compute_dtype: str, variable_dtype: str):
    """The scope a layer call runs in (Keras' rule): a mixed layer opens one, a layer that computes in another
    dtype than the enclosing scope replaces it, a layer without autocast (or a non-float one) turns it off."""
    stack = _stack()
    if stack:
        if not autocast or not is_float(compute_dtype):
            return autocast_scope(None)
        return autocast_scope(compute_dtype) if stack[-1] != compute_dtype else contextlib.nullcontext()
    if compute_dtype != variable_dtype and is_float(compute_dtype):
        return autocast_scope(compute_dtype)
    return contextlib.nullcontext()


@contextlib.contextmanager
def compute_dtype_scope(dtype: str) -> Iterator[None]:
    """Inside, layers compute in `dtype` instead of their policy's: with "float32", the layers that compute in
    float16/bfloat16 widen to float32; with "float16" or "bfloat16", every floating layer narrows to it.
    The ONNX export traces models in one (its `dtype` argument)."""
    if dtype not in ("float32", "float16", "bfloat16"):
        raise ValueError(f"`dtype` must be 'float32', 'float16' or 'bfloat16'. Received: dtype={dtype!r}")
    ctx = context.current()
    previous, ctx.compute_dtype = ctx.compute_dtype, dtype
    try:
        yield
    finally:
        ctx.compute_dtype = previous


def effective_compute_dtype(compute_dtype: str) -> str:
    """A layer's compute dtype under the current `compute_dtype_scope` (its own outside one)."""
    forced = context.current().compute_dtype
    if forced is None or not is_float(compute_dtype):
        return compute_dtype
    if forced == "float32":
        return forced if compute_dtype in ("float16", "bfloat16") else compute_dtype
    return forced


def cast_float(x, dtype: str):
    """`x` cast to `dtype` when it is a floating tensor of another dtype (a graph value, JAX or NumPy array);
    anything else (integers, masks, Python objects) is returned as is."""
    if not isinstance(x, (SymbolicTensor, jax.Array, np.ndarray)):
        return x
    source = str(x.dtype)
    if source not in DTYPES or not is_float(source) or source == dtype:
        return x
    if isinstance(x, SymbolicTensor):
        return x.trace.emit("cast", [x], {"dtype": dtype})
    return jnp.asarray(x, dtype=dtype)


def maybe_cast_variable(variable, value):
    """A variable's value as read inside the current scope: cast when the variable autocasts."""
    dtype = current_dtype()
    if dtype is None or not getattr(variable, "autocast", True):
        return value
    return cast_float(value, dtype)
