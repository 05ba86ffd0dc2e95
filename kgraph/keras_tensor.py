"""KerasTensor: the symbolic tensor of the Functional API, carrying a shape, a dtype and its history."""

from __future__ import annotations

from typing import Callable

from kgraph.ir.types import TensorType, canonical_dtype
from kgraph.operators import TensorOperators

_op_node_builder: Callable | None = None


def set_op_node_builder(builder: Callable) -> None:
    """Sets how an op applied to KerasTensors joins the Functional graph: `builder(op, inputs, attrs)`.

    KerasTensors come only from layers (`Input` and layer calls), so the layers package installs the builder
    (it wraps the op as a layer node) before any KerasTensor exists.
    """
    global _op_node_builder
    _op_node_builder = builder


def apply_op(op: str, inputs: list, attrs: dict):
    """Records `op` on KerasTensor `inputs` as a Functional graph node; returns its output KerasTensor(s)."""
    if _op_node_builder is None:
        raise RuntimeError(f"op {op!r} was applied to a KerasTensor before kgraph.layers was loaded")
    return _op_node_builder(op, inputs, attrs)


class KerasTensor(TensorOperators):
    """What `kgraph.Input` and layers called on it return: a type plus the layer call that made it.

    `_history` is `(layer, node_index, tensor_index)`, which Functional models walk to find their layers.
    """

    def __init__(self, shape, dtype="float32", name: str | None = None, symbols: tuple | None = None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = "string" if dtype == "string" else canonical_dtype(dtype)  # strings: host-side inputs only
        self.name = name
        self._symbols = symbols or tuple("batch" if i == 0 else f"d{i}" for i in range(len(self.shape)))
        self._history = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def ir_type(self) -> TensorType:
        """The IR type, with a symbol for each unknown dim ("batch" for the first)."""
        if self.dtype == "string":
            raise ValueError(f"Input {self.name!r} holds strings, which only host-side preprocessing (a FeatureSpace, "
                             "StringLookup in a tf.data pipeline) can take, not a compiled model")
        return TensorType(self.dtype, tuple(s if d is None else d for d, s in zip(self.shape, self._symbols)))

    @classmethod
    def from_ir_type(cls, t: TensorType, name: str | None = None) -> "KerasTensor":
        symbols = tuple(d if isinstance(d, str) else f"d{i}" for i, d in enumerate(t.shape))
        return cls(t.keras_shape(), t.dtype, name, symbols)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __iter__(self):
        raise TypeError("Iterating over a symbolic tensor is not supported; index it or use kgraph.ops.split")

    def __bool__(self):
        raise TypeError("A KerasTensor has no truth value: it is a placeholder for a future batch of data.")
