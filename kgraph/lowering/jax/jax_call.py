"""JAX rule for `jax_call`: the user's function itself, traced by JAX with the rest of the step."""

from kgraph.lowering.jax.registry import jax_rule


@jax_rule("jax_call")
def _jax_call(*inputs, fn, in_types, out_types, name):
    outputs = list(fn(*inputs))
    return outputs[0] if len(out_types) == 1 else outputs
