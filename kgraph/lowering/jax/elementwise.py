"""JAX rules for elementwise ops."""

import jax
import jax.numpy as jnp
import numpy as np

from kgraph.lowering.jax.registry import jax_rule

_SIMPLE = {
    "negative": jnp.negative, "abs": jnp.abs, "exp": jnp.exp, "log": jnp.log, "sqrt": jnp.sqrt,
    "rsqrt": jax.lax.rsqrt, "square": jnp.square, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid,
    "relu": jax.nn.relu, "silu": jax.nn.silu, "softplus": jax.nn.softplus, "softsign": jax.nn.soft_sign,
    "sign": jnp.sign, "floor": jnp.floor, "ceil": jnp.ceil, "round": jnp.round, "reciprocal": jnp.reciprocal,
    "erf": jax.scipy.special.erf, "log1p": jnp.log1p, "expm1": jnp.expm1, "sin": jnp.sin, "cos": jnp.cos,
    "stop_gradient": jax.lax.stop_gradient, "identity": lambda x: x, "logical_not": jnp.logical_not,
    "add": jnp.add, "subtract": jnp.subtract, "multiply": jnp.multiply, "divide": jnp.divide,
    "power": jnp.power, "maximum": jnp.maximum, "minimum": jnp.minimum, "floor_divide": jnp.floor_divide,
    "mod": jnp.mod, "equal": jnp.equal, "not_equal": jnp.not_equal, "less": jnp.less,
    "less_equal": jnp.less_equal, "greater": jnp.greater, "greater_equal": jnp.greater_equal,
    "logical_and": jnp.logical_and, "logical_or": jnp.logical_or, "where": jnp.where,
}
for _op, _fn in _SIMPLE.items():
    jax_rule(_op)(lambda *xs, _fn=_fn: _fn(*xs))


@jax_rule("gelu")
def _gelu(x, approximate):
    return jax.nn.gelu(x, approximate=approximate)


@jax_rule("cast")
def _cast(x, dtype):
    return x.astype(dtype)


@jax_rule("clip")
def _clip(x, min, max):
    return jnp.clip(x, min, max)


@jax_rule("constant")
def _constant(value):
    return jnp.asarray(np.asarray(value))


@jax_rule("full_like")
def _full_like(x, value, dtype):
    return jnp.full_like(x, value, dtype=dtype)
