"""IR → JAX: one rule per op; `lower_to_jax` turns a Graph into a pure function of arrays."""

from kgraph.lowering.jax import elementwise, linalg, nn, random, reduction, shape  # noqa: F401
from kgraph.lowering.jax.lower import GraphFunction, lower_to_jax
from kgraph.lowering.jax.registry import get_rule, jax_rule

__all__ = ["GraphFunction", "get_rule", "jax_rule", "lower_to_jax"]
