"""Tensor types of the IR: a dtype name and a shape whose dims are ints or symbols such as "batch"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import ml_dtypes
import numpy as np

Dim = Union[int, str]

DTYPES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
)
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def is_float(dtype: str) -> bool:
    return dtype in FLOAT_DTYPES


def is_int(dtype: str) -> bool:
    return dtype in INT_DTYPES


def canonical_dtype(dtype) -> str:
    """Returns the IR name of a dtype given as a string, NumPy/JAX dtype or Python type."""
    if isinstance(dtype, str) and dtype in DTYPES:
        return dtype
    if dtype is float:
        return "float32"
    if dtype is int:
        return "int32"
    if dtype is bool:
        return "bool"
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = getattr(dtype, "name", str(dtype))
    if name not in DTYPES:
        raise TypeError(f"Unsupported dtype {dtype!r}. Expected one of: {', '.join(DTYPES)}.")
    return name


def numpy_dtype(dtype: str) -> np.dtype:
    """The NumPy dtype of an IR dtype name (bfloat16 through ml_dtypes); the one place that maps them."""
    if dtype not in DTYPES:
        raise TypeError(f"Unsupported dtype {dtype!r}. Expected one of: {', '.join(DTYPES)}.")
    return np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)


@dataclass(frozen=True)
class TensorType:
    """The static type of a Value: dtype plus shape, where a str dim is symbolic."""

    dtype: str
    shape: tuple[Dim, ...]

    def __post_init__(self):
        if isinstance(self.dtype, np.dtype):  # a Variable's dtype
            object.__setattr__(self, "dtype", canonical_dtype(self.dtype))
        if self.dtype not in DTYPES:
            raise TypeError(f"TensorType.dtype must be one of {DTYPES}, got {self.dtype!r}")
        for d in self.shape:
            if isinstance(d, bool) or not isinstance(d, (int, str)) or (isinstance(d, int) and d < 0):
                raise ValueError(f"TensorType.shape dims must be non-negative ints or symbol names, got {self.shape}")

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        return all(isinstance(d, int) for d in self.shape)

    def keras_shape(self) -> tuple:
        """The shape as Keras shows it: None for each symbolic dim."""
        return tuple(d if isinstance(d, int) else None for d in self.shape)

    def __str__(self) -> str:
        return f"{self.dtype}[{', '.join(str(d) for d in self.shape)}]"
