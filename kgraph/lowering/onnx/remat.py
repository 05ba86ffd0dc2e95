"""ONNX rule for `remat`: inference has no gradient to rematerialize for, so the body's nodes are emitted inline."""

from __future__ import annotations

from kgraph.lowering.onnx.control_flow import _emit
from kgraph.lowering.onnx.registry import onnx_rule


@onnx_rule("remat")
def _remat(ctx, *inputs, body):
    count = len(body.inputs)
    outputs = _emit(ctx._builder, body, list(inputs[:count]), list(inputs[count:]), "remat")
    return outputs[0] if len(outputs) == 1 else outputs
