"""IR → ONNX: one rule per op; `lower_to_onnx` turns an inference Graph into an `onnx.ModelProto`.

Every module of this package other than `builder`, `lower` and `registry` holds the rules of one op
family and is imported here, so adding a family is adding a file.
"""

import importlib
import pkgutil

from kgraph.lowering.onnx.builder import OnnxContext
from kgraph.lowering.onnx.lower import DEFAULT_OPSET, MIN_OPSET, check_opset, lower_to_onnx, max_opset
from kgraph.ir.registry import all_ops
from kgraph.lowering.onnx.registry import TARGET, get_rule, has_rule, onnx_refusal, onnx_rule

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("builder", "lower", "registry"):
        importlib.import_module(f"{__name__}.{_module.name}")

for _name, _op in all_ops().items():
    if _op.random and not has_rule(_name) and _op.refusal(TARGET) is None:
        onnx_refusal(_name, "it is random; trace the model with training=False so that the inference graph has no "
                            "random ops")

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "OnnxContext", "check_opset", "get_rule", "has_rule", "lower_to_onnx",
           "max_opset", "onnx_refusal", "onnx_rule"]
