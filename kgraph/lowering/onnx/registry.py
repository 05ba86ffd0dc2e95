"""The table of ONNX rules: `rule(ctx, *input_names, **attrs)` emits nodes through `ctx` and returns output name(s)."""

from __future__ import annotations

from typing import Callable

from kgraph.ir.registry import get_op

_RULES: dict[str, Callable] = {}


def onnx_rule(*ops: str) -> Callable[[Callable], Callable]:
    """Decorator registering one ONNX rule for the named, already declared ops.

    Args:
        *ops: IR op names; the rule is called as `rule(ctx, *input_names, **attrs)` with an `OnnxContext`.
    """

    def wrap(fn: Callable) -> Callable:
        for op in ops:
            get_op(op)
            if op in _RULES:
                raise ValueError(f"op {op!r} already has an ONNX rule")
            _RULES[op] = fn
        return fn

    return wrap


def has_rule(op: str) -> bool:
    """Whether IR op `op` can be lowered to ONNX."""
    return op in _RULES


def get_rule(op: str) -> Callable:
    """The ONNX rule of IR op `op`; NotImplementedError naming the op when it has none."""
    try:
        return _RULES[op]
    except KeyError:
        raise NotImplementedError(f"op {op!r} has no ONNX rule") from None
