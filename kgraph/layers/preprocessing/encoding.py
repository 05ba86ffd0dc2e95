"""Keras' categorical encodings of integer indices as IR ops: one-hot, multi-hot and count vectors."""

from __future__ import annotations

from kgraph import ops


def encode_categorical(indices, output_mode: str, depth: int, dtype: str, count_weights=None):
    """`indices` as "one_hot" (a new last axis, or replacing a last axis of size 1), "multi_hot" or "count" vectors
    of `depth` (reduced over axis 1, or 0 for vectors), as Keras' `encode_categorical_inputs` on JAX."""
    if output_mode == "int":
        return ops.cast(indices, dtype)
    if len(indices.shape) == 0:
        indices = ops.expand_dims(indices, -1)
    indices = ops.cast(indices, "int32")
    if output_mode == "one_hot":
        if len(indices.shape) > 1 and indices.shape[-1] == 1:
            indices = ops.squeeze(indices, -1)
        return ops.one_hot(indices, depth, dtype=dtype)
    axis = 1 if len(indices.shape) > 1 else 0
    if output_mode == "multi_hot":
        return ops.max(ops.one_hot(indices, depth, dtype=dtype), axis=axis)
    if count_weights is not None:
        dtype = str(count_weights.dtype)
    encoded = ops.one_hot(indices, depth, dtype=dtype)
    if count_weights is not None:
        encoded = ops.multiply(encoded, ops.expand_dims(count_weights, -1))
    return ops.sum(encoded, axis=axis)
