"""`remat`: a region of the graph whose activations the gradient recomputes instead of storing (rematerialization).

It carries the region as a sub-Graph `body`, as the control-flow ops carry theirs: the node's inputs are the body's
inputs, then the values it reads from outside (its params, in order), so gradients reach them. Its outputs are the
body's. Inference ignores the boundary: ONNX inlines the body.
"""

from __future__ import annotations

from kgraph.ir.ops.control_flow import _check_captured, _same_type, check_subgraph
from kgraph.ir.registry import REQUIRED, ShapeError, register


def _remat_infer(types, body):
    check_subgraph("remat", "body", body, len(getattr(body, "inputs", ())))
    arguments = list(types[:len(body.inputs)])
    for i, (got, inner) in enumerate(zip(arguments, body.inputs)):
        if not _same_type(got, inner.type):
            raise ShapeError(f"remat: input {i} is {got}, the body takes {inner.type}")
    _check_captured("remat", list(types[len(body.inputs):]), [body])
    return [v.type for v in body.outputs]


register("remat", _remat_infer, attrs={"body": REQUIRED},
         doc="runs the sub-Graph body, whose activations the gradient recomputes; inputs *body inputs, *captured")
