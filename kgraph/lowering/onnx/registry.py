"""ONNX rules: `rule(ctx, *input_names, **attrs)` emits nodes through `ctx` and returns output name(s).

Rules are attached to the ops' IR declarations under the target "onnx"; an op ONNX cannot express is refused
with its reason (`onnx_refusal`), which the export error shows.
"""

from __future__ import annotations

from typing import Callable

from kgraph.ir.registry import attach_rule, get_op, refuse

TARGET = "onnx"


def onnx_rule(*ops: str) -> Callable[[Callable], Callable]:
    """Decorator registering one ONNX rule for the named, already declared ops.

    Args:
        *ops: IR op names; the rule is called as `rule(ctx, *input_names, **attrs)` with an `OnnxContext`.
    """

    def wrap(fn: Callable) -> Callable:
        for op in ops:
            attach_rule(op, TARGET, fn)
        return fn

    return wrap


def onnx_refusal(op: str, reason: str) -> None:
    """Declares that ONNX cannot express IR op `op`; `reason` completes "cannot be exported to ONNX: …"."""
    refuse(op, TARGET, reason)


def has_rule(op: str) -> bool:
    """Whether IR op `op` can be lowered to ONNX."""
    return get_op(op).rule(TARGET) is not None


def get_rule(op: str) -> Callable:
    """The ONNX rule of IR op `op`; NotImplementedError naming the op (and ONNX's refusal, if any) when it has none."""
    opdef = get_op(op)
    rule = opdef.rule(TARGET)
    if rule is None:
        refusal = opdef.refusal(TARGET)
        raise NotImplementedError(f"op {op!r} cannot be exported to ONNX: {refusal}" if refusal
                                  else f"op {op!r} has no ONNX rule")
    return rule
