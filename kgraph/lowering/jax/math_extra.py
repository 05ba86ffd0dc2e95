"""JAX rules for the extra elementwise math ops."""

import jax
import jax.numpy as jnp

from kgraph.lowering.jax.registry import jax_rule

_SIMPLE = {
    "tan": jnp.tan, "sinh": jnp.sinh, "cosh": jnp.cosh, "arcsin": jnp.arcsin, "arccos": jnp.arccos,
    "arctan": jnp.arctan, "arcsinh": jnp.arcsinh, "arccosh": jnp.arccosh, "arctanh": jnp.arctanh,
    "erfinv": jax.scipy.special.erfinv, "erfc": jax.scipy.special.erfc, "i0": jnp.i0, "trunc": jnp.trunc,
    "isnan": jnp.isnan, "isinf": jnp.isinf, "bitwise_invert": jnp.invert, "arctan2": jnp.arctan2,
    "nextafter": jnp.nextafter, "fmod": jnp.fmod, "bitwise_and": jnp.bitwise_and, "bitwise_or": jnp.bitwise_or,
    "bitwise_xor": jnp.bitwise_xor, "left_shift": jnp.left_shift, "right_shift": jnp.right_shift,
    "gcd": jnp.gcd, "lcm": jnp.lcm,
}
for _op, _fn in _SIMPLE.items():
    jax_rule(_op)(lambda *xs, _fn=_fn: _fn(*xs))
