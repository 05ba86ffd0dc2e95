"""Rules for ops that ONNX cannot express: export fails naming the op, the layer that used it and the opset."""

from __future__ import annotations

from kgraph.lowering.onnx.builder import OnnxContext


class NoOnnxForm(NotImplementedError):
    """An op of the graph has no ONNX form at the export's opset."""


def refuse(ctx: OnnxContext, why: str = "the ONNX standard has no operator for it"):
    """Raises NoOnnxForm naming the IR op, the layer that recorded it and the opset."""
    layer = f"layer {ctx.node.name!r}" if ctx.node.name else "a layer"
    raise NoOnnxForm(f"op {ctx.node.op!r} (used by {layer}) cannot be exported to ONNX at opset {ctx.opset}: {why}")


def refusing(why: str = "the ONNX standard has no operator for it"):
    """A rule that always refuses with `why`; for ops that are JAX-only."""

    def rule(ctx, *inputs, **attrs):
        refuse(ctx, why)

    return rule
