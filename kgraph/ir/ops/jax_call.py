"""`jax_call`: an opaque call of a user's JAX function (JaxLayer, FlaxLayer).

Its inputs are the function's flattened array arguments; its `fn` attribute maps them to the flattened outputs.
The caller works out the output types (with `jax.eval_shape`) and records them in `out_types`, so the IR needs no
JAX to type the node; `in_types` are the input types they were worked out for.
"""

from __future__ import annotations

from kgraph.ir.registry import REQUIRED, ShapeError, register


def _jax_call(types, fn, in_types, out_types, name):
    if not callable(fn):
        raise ShapeError(f"jax_call {name!r}: fn must be callable, got {type(fn).__name__}")
    if len(types) != len(in_types):
        raise ShapeError(f"jax_call {name!r}: the function takes {len(in_types)} arrays, got {len(types)} inputs")
    for i, (got, want) in enumerate(zip(types, in_types)):
        if got.dtype != want.dtype or got.rank != want.rank:
            raise ShapeError(f"jax_call {name!r}: input {i} is {got}, the function was typed for {want}")
    return list(out_types)


register("jax_call", _jax_call, attrs={"fn": REQUIRED, "in_types": REQUIRED, "out_types": REQUIRED,
                                       "name": "jax_call"},
         doc="calls a user's JAX function on its inputs (JaxLayer, FlaxLayer); outputs typed by jax.eval_shape")
