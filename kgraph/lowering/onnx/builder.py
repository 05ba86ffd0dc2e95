"""The ONNX graph under construction, and the per-node view (`OnnxContext`) that rules emit nodes through.

Opset-dependent node forms (axes as attribute or input) live here, so each rule states its math once.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from kgraph.ir.graph import Node
from kgraph.ir.types import TensorType, numpy_dtype

ONNX_DTYPES = {
    "bool": TensorProto.BOOL, "int8": TensorProto.INT8, "int16": TensorProto.INT16, "int32": TensorProto.INT32,
    "int64": TensorProto.INT64, "uint8": TensorProto.UINT8, "uint16": TensorProto.UINT16,
    "uint32": TensorProto.UINT32, "uint64": TensorProto.UINT64, "float16": TensorProto.FLOAT16,
    "bfloat16": TensorProto.BFLOAT16, "float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE,
}

# Opset from which each reduction takes `axes` as an input instead of an attribute.
_AXES_INPUT_SINCE = {"ReduceSum": 13, "ReduceMean": 18, "ReduceMax": 18, "ReduceMin": 18, "ReduceProd": 18,
                     "ReduceLogSumExp": 18}
_SMALL_CONSTANT = 16
# Add, Sub, Mul and Div take 8- and 16-bit integers only from opset 14; below it they run widened to int32.
_NARROW_INTS = ("int8", "int16", "uint8", "uint16")
_ARITHMETIC_NARROW_SINCE = 14


def onnx_dtype(dtype: str) -> int:
    """The TensorProto element type of an IR dtype name."""
    return ONNX_DTYPES[dtype]


def tensor_proto(array: np.ndarray, name: str) -> TensorProto:
    """An initializer holding `array` (0-d arrays stay scalars), as raw little-endian data."""
    return numpy_helper.from_array(np.asarray(array), name)


class GraphBuilder:
    """Collects ONNX nodes and initializers, handing out names that are unique in the whole graph."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.produced: set[str] = set()
        self._taken: set[str] = set()
        self._constants: dict[tuple, str] = {}

    def reserve(self, name: str) -> None:
        self._taken.add(name)

    def unique(self, base: str) -> str:
        name, suffix = base, 1
        while name in self._taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        self._taken.add(name)
        return name

    def initializer(self, array: np.ndarray, name: str) -> str:
        """Adds `array` as an initializer named exactly `name` (already reserved)."""
        self.initializers.append(tensor_proto(array, name))
        return name

    def constant(self, array: np.ndarray, base: str) -> str:
        """An initializer for `array`; small constants with equal dtype, shape and bytes are shared."""
        array = np.asarray(array)
        key = None
        if array.size <= _SMALL_CONSTANT:
            key = (array.dtype.str, array.shape, array.tobytes())
            if key in self._constants:
                return self._constants[key]
        name = self.initializer(array, self.unique(base))
        if key is not None:
            self._constants[key] = name
        return name

    def add_node(self, op_type: str, inputs: Sequence[str], outputs: Sequence[str], name: str, doc: str,
                 attrs: dict[str, Any]) -> None:
        node = helper.make_node(op_type, list(inputs), list(outputs), name=name, doc_string=doc, **attrs)
        self.nodes.append(node)
        self.produced.update(outputs)


class OnnxContext:
    """What a rule sees of the IR node it lowers: its types, the opset, and methods that emit ONNX nodes.

    Every node emitted is named after the IR node (the Keras layer path) plus its ONNX op type.
    """

    def __init__(self, builder: GraphBuilder, node: Node):
        self._builder = builder
        self.node = node
        self.opset = builder.opset
        self.in_types: list[TensorType] = [v.type for v in node.inputs]
        self.out_types: list[TensorType] = [v.type for v in node.outputs]
        self._base = node.name or node.op

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attrs: Any) -> str | list[str]:
        """Emits one ONNX node named after the IR node; returns its output name (a list when `outputs` > 1).

        Args:
            op_type: the ONNX op ("MatMul", "ReduceSum", …).
            *inputs: input tensor names ("" for an omitted optional input).
            outputs: how many outputs the node has.
            **attrs: ONNX attributes.
        """
        name = self._builder.unique(f"{self._base}/{op_type}")
        names = [name] if outputs == 1 else [self._builder.unique(f"{name}:{i}") for i in range(outputs)]
        layer = f" of layer {self.node.name!r}" if self.node.name else ""
        self._builder.add_node(op_type, inputs, names, name, f"kgraph op {self.node.op!r}{layer}", attrs)
        return names[0] if outputs == 1 else names

    def const(self, value: Any, dtype: str | None = None) -> str:
        """An initializer holding `value`, shared with equal small constants.

        Args:
            value: a scalar or array.
            dtype: an IR dtype name to cast `value` to (default: `value`'s own dtype).
        """
        array = np.asarray(value) if dtype is None else np.asarray(value).astype(numpy_dtype(dtype))
        return self._builder.constant(array, f"{self._base}/const")

    def axes(self, axes: Sequence[int]) -> str:
        """An int64 initializer of axes, the form axes inputs take."""
        return self.const(np.asarray(list(axes), dtype=np.int64))

    def reduce(self, op_type: str, x: str, axes: Sequence[int], keepdims: bool, dtype: str) -> str:
        """A Reduce* node over explicit `axes` of a `dtype` tensor, with axes as an input or an attribute as the
        opset wants; 8- and 16-bit integers, which ONNX's reductions mostly lack, are reduced as int32."""
        if dtype in _NARROW_INTS:
            return self.cast(self.reduce(op_type, self.cast(x, "int32"), axes, keepdims, "int32"), dtype)
        if self.opset >= _AXES_INPUT_SINCE[op_type]:
            return self.op(op_type, x, self.axes(axes), keepdims=int(keepdims))
        return self.op(op_type, x, axes=list(axes), keepdims=int(keepdims))

    def arith(self, op_type: str, *inputs: str, dtype: str) -> str:
        """Add/Sub/Mul/Div on `dtype` operands, widened to int32 and cast back where the opset lacks the type."""
        if dtype in _NARROW_INTS and self.opset < _ARITHMETIC_NARROW_SINCE:
            wide = self.op(op_type, *(self.cast(x, "int32") for x in inputs))
            return self.cast(wide, dtype)
        return self.op(op_type, *inputs)

    def unsqueeze(self, x: str, axes: Sequence[int]) -> str:
        """Unsqueeze with axes as an input (opset 13 on)."""
        return self.op("Unsqueeze", x, self.axes(axes))

    def squeeze(self, x: str, axes: Sequence[int]) -> str:
        """Squeeze with axes as an input (opset 13 on)."""
        return self.op("Squeeze", x, self.axes(axes))

    def cast(self, x: str, dtype: str) -> str:
        """Cast to an IR dtype name."""
        return self.op("Cast", x, to=onnx_dtype(dtype))
