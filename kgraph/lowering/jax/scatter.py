"""JAX rule for scatter."""

from kgraph.lowering.jax.registry import jax_rule


@jax_rule("scatter_update")
def _scatter_update(x, indices, updates, reduction):
    at = x.at[tuple(indices[..., i] for i in range(indices.shape[-1]))]
    return {None: at.set, "add": at.add, "mul": at.multiply, "max": at.max, "min": at.min}[reduction](updates)
