"""Applies an IR op to whatever it gets: KerasTensors (Functional construction), SymbolicTensors
(recording into a trace), or concrete arrays and JAX tracers (eager, through the op's JAX rule)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from kgraph.ir import get_op
from kgraph.ir.types import canonical_dtype, is_float
from kgraph import keras_tensor
from kgraph.keras_tensor import KerasTensor
from kgraph.lowering.jax import get_rule
from kgraph.tracing import SymbolicDim, SymbolicTensor, current_trace
from kgraph.variables import Variable
from kgraph import config


def unwrap(x):
    """A Variable's value, a SymbolicDim's size tensor, anything else as it is."""
    return x.value if isinstance(x, (Variable, SymbolicDim)) else x


def is_symbolic(x) -> bool:
    return isinstance(x, (SymbolicTensor, KerasTensor))


def apply(op: str, *inputs, **attrs):
    """Runs `op` on `inputs` in the mode their types call for; returns a tensor of the same kind."""
    inputs = [unwrap(x) for x in inputs]
    if any(isinstance(x, KerasTensor) for x in inputs):
        return keras_tensor.apply_op(op, inputs, attrs)
    symbolic = [x for x in inputs if isinstance(x, SymbolicTensor)]
    if symbolic:
        trace = current_trace()
        if trace is None or not any(x.trace is trace for x in symbolic):
            trace = symbolic[0].trace
        return trace.emit(op, inputs, attrs)
    opdef = get_op(op)
    resolved = opdef.resolve_attrs(attrs)
    for x in inputs:
        check_not_string(x, f"op {op!r}")
    arrays = [x if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, np.ndarray) else jnp.asarray(x) for x in inputs]
    try:
        return get_rule(op)(*arrays, **resolved)
    except (TypeError, ValueError) as e:
        if type(e) not in (TypeError, ValueError):
            raise
        shapes = ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in arrays)
        raise type(e)(f"op {op!r} cannot take inputs {shapes}{f' with {attrs}' if attrs else ''}: {e}") from e


def check_not_string(x, user: str = "kgraph.ops") -> None:
    """Raises TypeError where a string (or object) value reaches `user`, which takes numbers and bools only."""
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], (str, bytes)):
        x = np.asarray(x)
    if isinstance(x, (str, bytes)) or isinstance(x, np.ndarray) and x.dtype.kind in ("U", "S", "O"):
        raise TypeError(f"{user} takes numeric or bool tensors, got a string value of dtype "
                        f"{np.asarray(x).dtype}; map strings to numbers first (e.g. with a StringLookup layer)")


def dtype_of(x) -> str | None:
    """The dtype of a tensor-like, or None for a Python scalar (which adopts its partner's dtype)."""
    x = unwrap(x)
    if isinstance(x, (bool, int, float)):
        return None
    check_not_string(x)
    if hasattr(x, "dtype"):
        return canonical_dtype(x.dtype)
    return canonical_dtype(np.asarray(x).dtype)


def result_dtype(*xs) -> str:
    """NumPy/JAX promotion where Python scalars are weak: 2 * float16 stays float16, 0.5 * int32 → float32."""
    dtypes = [d for d in (dtype_of(x) for x in xs) if d is not None]
    scalars = [unwrap(x) for x in xs if dtype_of(x) is None]
    if not dtypes:
        if any(isinstance(s, float) for s in scalars):
            return config.floatx()
        if any(isinstance(s, int) and not isinstance(s, bool) for s in scalars):
            return "int32"
        return "bool"
    result = dtypes[0]
    for d in dtypes[1:]:
        result = canonical_dtype(jnp.promote_types(result, d))
    if any(isinstance(s, float) for s in scalars) and not is_float(result):
        result = config.floatx()
    if any(isinstance(s, int) and not isinstance(s, bool) for s in scalars) and result == "bool":
        result = "int32"
    return result


def convert(x, dtype: str) -> Any:
    """`x` as a tensor of `dtype`: casts tensors, materializes Python scalars and NumPy arrays."""
    x = unwrap(x)
    if is_symbolic(x) or (hasattr(x, "dtype") and not isinstance(x, np.ndarray)):
        return x if canonical_dtype(x.dtype) == dtype else apply("cast", x, dtype=dtype)
    return np.asarray(x, dtype=dtype)


def promote(*xs) -> list:
    """Converts all of `xs` to their common dtype (see `result_dtype`)."""
    dtype = result_dtype(*xs)
    return [convert(x, dtype) for x in xs]
