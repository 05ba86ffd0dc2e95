"""`kgraph.backend`: Keras' `keras.backend` — global settings, dtype rules and the session's name counters."""

from __future__ import annotations

import gc

import jax
import jax.numpy as jnp
import numpy as np

from kgraph.backend.naming import get_uid, reset_uids
from kgraph.config import (
    backend, epsilon, floatx, image_data_format, set_epsilon, set_floatx, set_image_data_format,
)
from kgraph.ir.types import DTYPES, FLOAT_DTYPES, INT_DTYPES
from kgraph.keras_tensor import KerasTensor


def standardize_dtype(dtype=None) -> str:
    """A dtype's Keras name: None gives `floatx()`, Python `int`/`float` give int32/float32.

    Args:
        dtype: a string, NumPy/JAX dtype or Python type.
    """
    if dtype is None:
        return floatx()
    if dtype is int:
        return "int32"
    if dtype is float:
        return "float32"
    if dtype is bool:
        return "bool"
    if dtype == "string" or dtype is str:
        return "string"
    if isinstance(dtype, str) and dtype in DTYPES:
        return dtype
    try:
        name = np.dtype(getattr(dtype, "name", dtype)).name
    except TypeError:
        name = None
    if name not in DTYPES:
        raise ValueError(f"Invalid dtype: {dtype}")
    return name


def is_float_dtype(dtype) -> bool:
    """Whether `dtype` is a floating point type."""
    return standardize_dtype(dtype) in FLOAT_DTYPES


def is_int_dtype(dtype) -> bool:
    """Whether `dtype` is a (signed or unsigned) integer type."""
    return standardize_dtype(dtype) in INT_DTYPES


_NARROW_64 = {"int64": "int32", "uint64": "uint32", "float64": "float32"}


def result_type(*dtypes) -> str:
    """The dtype an op on values of `dtypes` returns, by Keras' JAX-backend rules: NumPy-style promotion where
    Python `int`/`float` are weak, 64-bit types narrowed to 32-bit (no x64), and `floatx()` for no input."""
    if not dtypes:
        return floatx()
    narrow = {} if jax.config.jax_enable_x64 else _NARROW_64
    args = [d if d in (int, float, bool) else jnp.dtype(narrow.get(standardize_dtype(d), standardize_dtype(d)))
            for d in dtypes]
    return jax.dtypes.canonicalize_dtype(jnp.result_type(*args)).name


def is_keras_tensor(x) -> bool:
    """Whether `x` is a symbolic tensor of a model being built (`kgraph.Input` and what layers make of it)."""
    return isinstance(x, KerasTensor)


def clear_session(free_memory: bool = True) -> None:
    """Resets the global name counters (the next Dense is "dense" again) and, with `free_memory`, runs the
    garbage collector and drops JAX's compilation caches."""
    reset_uids()
    if free_memory:
        gc.collect()
        jax.clear_caches()


__all__ = [
    "backend", "clear_session", "epsilon", "floatx", "get_uid", "image_data_format", "is_float_dtype",
    "is_int_dtype", "is_keras_tensor", "result_type", "set_epsilon", "set_floatx", "set_image_data_format",
    "standardize_dtype",
]
