"""Request tensors become the model's arrays for every protocol datatype, from JSON values and from raw bytes."""

from __future__ import annotations

import numpy as np
import pytest

from kgraph.runtime.onnx import TensorSpec
from kgraph.serving.datatypes import DATATYPES, datatype_of, dtype_of
from kgraph.serving.errors import InvalidRequest
from kgraph.serving.tensors import WireTensor, to_array

VALUES = {"BOOL": [[True, False, True]], "FP16": [[0.5, -1.0, 2.0]], "FP32": [[0.25, -1.5, 3.0]],
          "FP64": [[1e-300, -2.0, 3.5]], "BF16": [[0.5, -1.0, 2.0]]}


@pytest.mark.parametrize("datatype", DATATYPES)
def test_every_datatype_from_json_and_raw(datatype):
    dtype = dtype_of(datatype)
    assert datatype_of(dtype) == datatype
    values = VALUES.get(datatype, [[0, 1, 2 if datatype[0] == "U" else -2]])
    spec = TensorSpec("x", (None, 3), dtype)
    expected = np.array(values).astype(dtype)
    nested = to_array(WireTensor("x", datatype, [1, 3], data=values), spec, batched=True)
    flat = to_array(WireTensor("x", datatype, [1, 3], data=values[0]), spec, batched=True)
    raw = to_array(WireTensor("x", datatype, [1, 3], raw=expected.tobytes()), spec, batched=True)
    for got in (nested, flat, raw):
        assert got.dtype == dtype and got.shape == (1, 3)
        np.testing.assert_array_equal(got.astype(np.float64), expected.astype(np.float64))


@pytest.mark.parametrize("datatype, data, message", [
    ("INT8", [1, 2, 300], "outside the range of INT8"),
    ("UINT8", [1, 2, -1], "outside the range of UINT8"),
    ("BOOL", [1, 0, 1], "not BOOL"),
    ("INT32", [True, False, True], "not INT32"),
    ("FP32", ["a", "b", "c"], "not FP32"),
    ("FP32", 3.0, "must be a list"),
])
def test_values_that_do_not_fit_the_datatype(datatype, data, message):
    spec = TensorSpec("x", (None, 3), dtype_of(datatype))
    with pytest.raises(InvalidRequest, match=message):
        to_array(WireTensor("x", datatype, [1, 3], data=data), spec, batched=True)


def test_fixed_first_dim_of_an_unbatched_model_is_checked():
    spec = TensorSpec("x", (4, 2), np.dtype("float32"))
    with pytest.raises(InvalidRequest, match=r"expected shape \[4, 2\]"):
        to_array(WireTensor("x", "FP32", [3, 2], data=[0.0] * 6), spec, batched=False)
    assert to_array(WireTensor("x", "FP32", [4, 2], data=[0.0] * 8), spec, batched=False).shape == (4, 2)
