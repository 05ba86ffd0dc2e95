"""ONNX rule for the CTC loss: refused, ONNX has no CTC operator."""

from kgraph.lowering.onnx.refusal import refusing
from kgraph.lowering.onnx.registry import onnx_rule

onnx_rule("ctc_loss")(refusing("the ONNX standard has no CTC loss operator"))
