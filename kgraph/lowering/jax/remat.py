"""JAX rule for `remat`: the body runs under `jax.checkpoint`, so its gradient recomputes its activations."""

from __future__ import annotations

import jax

from kgraph.lowering.jax.lower import lower_to_jax
from kgraph.lowering.jax.registry import jax_rule


@jax_rule("remat")
def _remat(*inputs, body):
    fn = lower_to_jax(body)
    names = [p.name for p in body.params]
    count = len(body.inputs)

    def region(*values):
        return tuple(fn(dict(zip(names, values[count:])), list(values[:count]))[0])

    outputs = jax.checkpoint(region)(*inputs)
    return outputs[0] if len(outputs) == 1 else outputs
