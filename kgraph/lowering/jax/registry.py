"""JAX rules: `rule(*input_arrays, **attrs)` returns the op's output array(s).

Rules are attached to the ops' IR declarations under the target "jax". This module also installs the host runner
through which the IR's constant folding evaluates an op with its JAX rule, on the CPU.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from kgraph.ir.evaluation import install_host_runner
from kgraph.ir.registry import attach_rule, get_op

TARGET = "jax"


def jax_rule(*ops: str) -> Callable[[Callable], Callable]:
    """Decorator registering one JAX rule for the named, already declared ops."""

    def wrap(fn: Callable) -> Callable:
        for op in ops:
            attach_rule(op, TARGET, fn)
        return fn

    return wrap


def get_rule(op: str) -> Callable:
    """The JAX rule of IR op `op`; NotImplementedError naming the op when it has none."""
    rule = get_op(op).rule(TARGET)
    if rule is None:
        raise NotImplementedError(f"op {op!r} has no JAX rule")
    return rule


def run_on_host(rule: Callable, arrays: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """`rule`'s outputs for host `arrays`, computed on the CPU with 64-bit types kept, as NumPy arrays."""
    with jax.default_device(jax.devices("cpu")[0]), jax.enable_x64(True):
        result = rule(*(jax.numpy.asarray(a) for a in arrays), **attrs)
        outputs = list(result) if isinstance(result, (list, tuple)) else [result]
        return [np.asarray(jax.device_get(out)) for out in outputs]


install_host_runner(TARGET, run_on_host)
