"""Evaluating one op on host arrays through the rule a lowering attached to it: constant folding's calculator.

The IR computes nothing itself. A lowering installs a host runner (`install_host_runner`): the JAX lowering runs an
op's JAX rule on the CPU and returns NumPy arrays, so a folded constant is what the compiled graph would compute,
and no op is implemented twice.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from kgraph.ir.registry import get_op

HostRunner = Callable[[Callable, list[np.ndarray], dict[str, Any]], list[np.ndarray]]
"""`runner(rule, arrays, attrs)` → the rule's outputs as NumPy arrays."""

_host: dict[str, HostRunner] = {}


def install_host_runner(target: str, runner: HostRunner) -> None:
    """Makes `evaluate` run ops through their `target` rules with `runner`; the last lowering installed wins."""
    _host.clear()
    _host[target] = runner


def host_target() -> str:
    """The lowering target whose rules `evaluate` runs; RuntimeError when no lowering installed a runner."""
    if not _host:
        raise RuntimeError("evaluating IR ops needs a lowering's rules: import kgraph.lowering.jax, which installs "
                           "the host runner constant folding uses")
    return next(iter(_host))


def evaluate(op: str, arrays: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray] | None:
    """Op `op`'s outputs for input `arrays`, computed by its host target rule; None when it has no such rule or
    the rule rejects the inputs (the op then stays in the graph and fails, if at all, where it runs)."""
    target = host_target()
    rule = get_op(op).rule(target)
    if rule is None:
        return None
    try:
        return _host[target](rule, arrays, attrs)
    except (ValueError, TypeError, IndexError, ArithmeticError, NotImplementedError):
        return None
