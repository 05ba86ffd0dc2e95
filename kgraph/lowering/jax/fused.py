"""JAX rules for the fused ops: each computes what the ops it replaces compute."""

import jax
import jax.numpy as jnp

from kgraph.lowering.jax.registry import get_rule, jax_rule


@jax_rule("gemm")
def _gemm(a, b, c):
    return jnp.matmul(a, b) + c


@jax_rule("conv_bias")
def _conv_bias(x, kernel, bias, data_format, **attrs):
    y = get_rule("conv")(x, kernel, data_format=data_format, **attrs)
    return y + (bias if data_format == "channels_last" else bias.reshape((-1,) + (1,) * (x.ndim - 2)))


@jax_rule("upsample_nearest")
def _upsample_nearest(x, scales):
    for axis, scale in enumerate(scales):
        if scale != 1:
            x = jnp.repeat(x, scale, axis=axis, total_repeat_length=x.shape[axis] * scale)
    return x


@jax_rule("attention")
def _attention(q, k, v, num_heads, scale):
    def heads(x):
        return jnp.swapaxes(jnp.reshape(x, x.shape[:2] + (num_heads, -1)), 1, 2)

    logits = jnp.matmul(heads(q), jnp.swapaxes(heads(k), -1, -2)) * jnp.asarray(scale, q.dtype)
    out = jnp.matmul(jax.nn.softmax(logits, axis=-1), heads(v))
    return jnp.reshape(jnp.swapaxes(out, 1, 2), q.shape[:2] + (-1,))
