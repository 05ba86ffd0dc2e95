"""Turns the tensors of a request (name, datatype, shape and either raw bytes or a list of values) into the arrays
a model takes, checking each against the model's inputs; one checker for HTTP/JSON, HTTP/binary and gRPC."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from kgraph.serving.datatypes import datatype_of, dtype_of
from kgraph.serving.errors import InvalidRequest

_KINDS = {"b": "b", "u": "iu", "i": "iu", "f": "iuf", "V": "iuf"}


@dataclass
class WireTensor:
    """One input tensor as it came: `raw` bytes (binary extension, gRPC raw contents) or `data` values (JSON)."""

    name: str
    datatype: str
    shape: Sequence[int]
    raw: bytes | memoryview | None = None
    data: Any = None


def _check_shape(name: str, shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, (list, tuple)) or not all(isinstance(d, int) and not isinstance(d, bool)
                                                       for d in shape):
        raise InvalidRequest(f"input {name!r}: 'shape' must be a list of integers, got {shape!r}")
    if any(d < 0 for d in shape):
        raise InvalidRequest(f"input {name!r}: shape {list(shape)} has a negative dim")
    return tuple(shape)


def _from_raw(tensor: WireTensor, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    count = int(np.prod(shape, dtype=np.int64))
    expected = count * dtype.itemsize
    if len(tensor.raw) != expected:
        raise InvalidRequest(f"input {tensor.name!r}: shape {list(shape)} of {tensor.datatype} needs {expected} bytes, "
                             f"got {len(tensor.raw)}")
    return np.frombuffer(tensor.raw, dtype=dtype).reshape(shape)


def _from_values(tensor: WireTensor, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    if not isinstance(tensor.data, (list, tuple)):
        raise InvalidRequest(f"input {tensor.name!r}: 'data' must be a list (flat or nested), "
                             f"got {type(tensor.data).__name__}")
    try:
        values = np.array(tensor.data)
    except ValueError:
        raise InvalidRequest(f"input {tensor.name!r}: 'data' is ragged (nested lists of different lengths)") from None
    count = int(np.prod(shape, dtype=np.int64))
    if values.size != count:
        raise InvalidRequest(f"input {tensor.name!r}: shape {list(shape)} holds {count} values, "
                             f"'data' has {values.size}")
    if values.size and values.dtype.kind not in _KINDS[dtype.kind]:
        raise InvalidRequest(f"input {tensor.name!r}: 'data' holds {values.dtype.kind!r}-kind values "
                             f"({_kind_name(values.dtype)}), which are not {tensor.datatype}")
    if dtype.kind in "iu" and values.size:
        info = np.iinfo(dtype)
        if values.min() < info.min or values.max() > info.max:
            raise InvalidRequest(f"input {tensor.name!r}: 'data' has values outside the range of {tensor.datatype}")
    return values.astype(dtype).reshape(shape)


def _kind_name(dtype: np.dtype) -> str:
    return {"b": "booleans", "i": "integers", "u": "integers", "f": "numbers"}.get(dtype.kind, "not numbers")


def to_array(tensor: WireTensor, spec, batched: bool) -> np.ndarray:
    """The array of `tensor`, checked against the model input `spec` (a TensorSpec whose dims are ints or None).

    Args:
        tensor: the request's tensor.
        spec: the model's input of that name.
        batched: whether the model's first dim is the batch dim, free in every request.
    """
    if not isinstance(tensor.datatype, str):
        raise InvalidRequest(f"input {tensor.name!r}: 'datatype' must be a string such as \"FP32\"")
    try:
        dtype = dtype_of(tensor.datatype)
    except ValueError as e:
        raise InvalidRequest(f"input {tensor.name!r}: {e}") from None
    expected_type = datatype_of(spec.dtype)
    if tensor.datatype != expected_type:
        raise InvalidRequest(f"input {tensor.name!r}: expected datatype {expected_type}, got {tensor.datatype}")
    shape = _check_shape(tensor.name, tensor.shape)
    wanted = [d if isinstance(d, int) else -1 for d in spec.shape]
    if batched and wanted:
        wanted[0] = -1
    if len(shape) != len(wanted) or any(w not in (-1, g) for w, g in zip(wanted, shape)):
        raise InvalidRequest(f"input {tensor.name!r}: expected shape {wanted} (-1: any size), got {list(shape)}")
    if tensor.raw is not None:
        return _from_raw(tensor, dtype, shape)
    if tensor.data is None:
        raise InvalidRequest(f"input {tensor.name!r}: has neither 'data' nor binary data")
    return _from_values(tensor, dtype, shape)


def to_arrays(tensors: Sequence[WireTensor], model) -> list[np.ndarray]:
    """The model's input arrays, in its input order, from a request's tensors; InvalidRequest naming any mistake.

    Args:
        tensors: the request's input tensors.
        model: the ServedModel they are for.
    """
    by_name: dict[str, WireTensor] = {}
    specs = {s.name: s for s in model.inputs}
    for tensor in tensors:
        if tensor.name not in specs:
            raise InvalidRequest(f"unknown input {tensor.name!r}; model {model.name!r} takes {list(specs)}")
        if tensor.name in by_name:
            raise InvalidRequest(f"input {tensor.name!r} is given twice")
        by_name[tensor.name] = tensor
    missing = [n for n in specs if n not in by_name]
    if missing:
        raise InvalidRequest(f"missing inputs {missing}; model {model.name!r} takes {list(specs)}")
    arrays = [to_array(by_name[s.name], s, model.max_batch_size > 0) for s in model.inputs]
    if model.max_batch_size > 0 and len({a.shape[0] for a in arrays}) > 1:
        rows = {s.name: a.shape[0] for s, a in zip(model.inputs, arrays)}
        raise InvalidRequest(f"inputs must have the same number of rows (first dim), got {rows}")
    return arrays
