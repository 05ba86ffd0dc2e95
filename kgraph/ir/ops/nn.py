"""Neural-network ops that are more than an elementwise map: softmax, log_softmax, one_hot."""

from __future__ import annotations

from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.shapes import normalize_axis
from kgraph.ir.traits import LAYOUT_TRANSPARENT
from kgraph.ir.types import TensorType, canonical_dtype, is_float, is_int


def _softmax(op: str):
    def infer(types, axis):
        (x,) = types
        if not is_float(x.dtype):
            raise ShapeError(f"{op} needs a floating-point input, got {x.dtype}")
        normalize_axis(axis, x.rank, op)
        return [x]

    return infer


register("softmax", _softmax("softmax"), attrs={"axis": -1}, num_inputs=1, traits=(LAYOUT_TRANSPARENT,), axis="axis",
         doc="exp(x) / sum(exp(x)) along axis")
register("log_softmax", _softmax("log_softmax"), attrs={"axis": -1}, num_inputs=1, traits=(LAYOUT_TRANSPARENT,),
         axis="axis", doc="log of softmax along axis")


def _one_hot(types, num_classes, axis, dtype):
    (x,) = types
    if not is_int(x.dtype):
        raise ShapeError(f"one_hot needs integer indices, got {x.dtype}")
    if not isinstance(num_classes, int) or num_classes <= 0:
        raise ShapeError(f"one_hot needs a positive num_classes, got {num_classes!r}")
    shape = list(x.shape)
    position = normalize_axis(axis, x.rank + 1, "one_hot")
    shape.insert(position, num_classes)
    return [TensorType(canonical_dtype(dtype), tuple(shape))]


register("one_hot", _one_hot, attrs={"num_classes": REQUIRED, "axis": -1, "dtype": "float32"}, num_inputs=1)
