"""The Open Inference Protocol's tensor datatypes (FP32, INT64, BOOL, ...) and their NumPy dtypes."""

from __future__ import annotations

import ml_dtypes
import numpy as np

_BY_NAME = {
    "BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32", "UINT64": "uint64",
    "INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64",
    "FP16": "float16", "FP32": "float32", "FP64": "float64",
}
_BY_DTYPE = {np.dtype(v): k for k, v in _BY_NAME.items()}
DATATYPES = tuple(_BY_NAME) + ("BF16",)


def datatype_of(dtype: np.dtype) -> str:
    """The protocol's datatype name of a NumPy dtype, such as "FP32" for float32."""
    dtype = np.dtype(dtype)
    if dtype in _BY_DTYPE:
        return _BY_DTYPE[dtype]
    if dtype.name == "bfloat16":
        return "BF16"
    raise TypeError(f"dtype {dtype} has no Open Inference Protocol datatype")


def dtype_of(datatype: str) -> np.dtype:
    """The NumPy dtype of a protocol datatype name; ValueError for a name the protocol does not define."""
    if datatype == "BF16":
        return np.dtype(ml_dtypes.bfloat16)
    if datatype not in _BY_NAME:
        raise ValueError(f"unknown datatype {datatype!r}; expected one of {', '.join(DATATYPES)}")
    return np.dtype(_BY_NAME[datatype])


def triton_type_of(datatype: str) -> str:
    """The `TYPE_*` enum name a Triton model configuration uses for a protocol datatype ("FP32" -> "TYPE_FP32")."""
    return f"TYPE_{datatype}"
