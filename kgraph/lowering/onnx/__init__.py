"""IR → ONNX: one rule per op; `lower_to_onnx` turns an inference Graph into an `onnx.ModelProto`."""

from kgraph.lowering.onnx import elementwise, linalg, nn, reduction, shape  # noqa: F401
from kgraph.lowering.onnx.builder import OnnxContext
from kgraph.lowering.onnx.lower import DEFAULT_OPSET, MIN_OPSET, check_opset, lower_to_onnx, max_opset
from kgraph.lowering.onnx.registry import get_rule, has_rule, onnx_rule

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "OnnxContext", "check_opset", "get_rule", "has_rule", "lower_to_onnx",
           "max_opset", "onnx_rule"]
