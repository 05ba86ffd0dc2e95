"""Attention ops: scaled dot-product attention and the causal mask."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from kgraph.ops.dispatch import apply, dtype_of
from kgraph.ops.numpy import (
    _float, add, cast, expand_dims, logical_and, matmul, multiply, ndim, reshape, shape, transpose, where,
)
from kgraph.ops.nn import softmax

__all__ = ["dot_product_attention"]


def causal_mask(scores):
    """bool[T, S], true where the key position (column) is not after the query position (row); T, S are the
    last two dims of `scores`."""
    return apply("causal_mask", scores)


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False):
    """softmax(query·keyᵀ · scale + bias, masked) · value over inputs of shape (B, T, N, H) and (B, S, K, H).

    Masked-out logits become -0.7 × the dtype's largest value, as in `jax.nn.dot_product_attention`, so a query
    that sees no key averages all values. N must be a multiple of K (grouped-query attention).

    Args:
        query: (batch, T, num_heads, head_dim).
        key, value: (batch, S, num_kv_heads, head_dim) and (batch, S, num_kv_heads, value_dim).
        bias: added to the logits; broadcastable to (batch, num_heads, T, S).
        mask: bool, true where a query may attend to a key; broadcastable to (batch, num_heads, T, S).
        scale: the logits' scale (default 1 / sqrt(head_dim)).
        is_causal: whether each query also only sees keys at or before its own position.
    """
    query, key, value = _float(query), _float(key), _float(value)
    for name, x in (("query", query), ("key", key), ("value", value)):
        if ndim(x) != 4:
            raise ValueError(f"dot_product_attention needs 4D (batch, length, heads, dim) inputs, got {name} of "
                             f"shape {shape(x)}")
    heads, kv_heads = shape(query)[2], shape(key)[2]
    if heads % kv_heads:
        raise ValueError(f"dot_product_attention: query heads ({heads}) must be a multiple of key heads "
                         f"({kv_heads}); got query {shape(query)} and key {shape(key)}")
    if heads != kv_heads:
        key, value = (_repeat_heads(x, heads // kv_heads) for x in (key, value))
    scale = 1.0 / math.sqrt(shape(query)[-1]) if scale is None else float(scale)
    logits = multiply(matmul(transpose(query, (0, 2, 1, 3)), transpose(key, (0, 2, 3, 1))), scale)
    if bias is not None:
        logits = add(logits, cast(bias, dtype_of(logits)))
    if is_causal:
        mask = causal_mask(logits) if mask is None else logical_and(mask, causal_mask(logits))
    if mask is not None:
        lowest = -0.7 * float(jnp.finfo(dtype_of(logits)).max)
        logits = where(mask, logits, lowest)
    probs = softmax(logits, axis=-1)
    return transpose(matmul(probs, transpose(value, (0, 2, 1, 3))), (0, 2, 1, 3))


def _repeat_heads(x, groups: int):
    """(B, S, K, H) → (B, S, K * groups, H), each head repeated `groups` times in place."""
    batch, length, kv_heads, dim = shape(x)
    tiled = multiply(expand_dims(x, 3), np.ones((1, 1, 1, groups, 1), dtype=dtype_of(x)))
    return reshape(tiled, (batch, length, kv_heads * groups, dim))
