"""JAX rules for ops sized by their inputs' shapes: under `jax.jit` those shapes are concrete, so each dim
expression is a Python int when the step is traced for a batch size."""

import jax.numpy as jnp

from kgraph.ir.shapes import evaluate_dim
from kgraph.lowering.jax.registry import jax_rule


@jax_rule("fill")
def _fill(*refs, shape, value, dtype):
    shapes = [r.shape for r in refs]
    return jnp.full(tuple(evaluate_dim(d, shapes) for d in shape), value, dtype)


@jax_rule("dim_size")
def _dim_size(*refs, dim, dtype):
    return jnp.asarray(evaluate_dim(dim, [r.shape for r in refs]), dtype)
