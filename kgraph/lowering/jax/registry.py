"""The table of JAX rules: `rule(*input_arrays, **attrs)` returns the op's output array(s)."""

from __future__ import annotations

from typing import Callable

from kgraph.ir.registry import get_op

_RULES: dict[str, Callable] = {}


def jax_rule(*ops: str) -> Callable[[Callable], Callable]:
    """Decorator registering one JAX rule for the named, already declared ops."""

    def wrap(fn: Callable) -> Callable:
        for op in ops:
            get_op(op)
            if op in _RULES:
                raise ValueError(f"op {op!r} already has a JAX rule")
            _RULES[op] = fn
        return fn

    return wrap


def get_rule(op: str) -> Callable:
    try:
        return _RULES[op]
    except KeyError:
        raise NotImplementedError(f"op {op!r} has no JAX rule") from None
