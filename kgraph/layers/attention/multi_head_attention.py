"""MultiHeadAttention: per-head projections of query, key and value, scaled dot-product attention between them,
and a projection of the heads back to the output."""

from __future__ import annotations

import math

from kgraph import initializers, ops, regularizers
from kgraph import random as kg_random
from kgraph.layers.layer import Layer, get_mask
from kgraph.ops.attention import causal_mask
from kgraph.ops.nn import dropout_with_key
from kgraph.tracing import current_trace


def _masked_softmax(scores, mask, axes: int):
    """Keras' Softmax layer with a mask over the last `axes` axes: masked scores are replaced by a large negative
    number before, and masked probabilities by zero after; the mask is aligned as Keras aligns it."""
    if mask is not None:
        while ops.ndim(mask) < ops.ndim(scores):
            mask = ops.expand_dims(mask, -2 * axes - 1)
        scores = ops.where(mask, scores, -3e4 if str(scores.dtype) == "float16" else -1e9)
    if axes == 1:
        probs = ops.softmax(scores, axis=-1)
    else:
        flat = ops.reshape(scores, tuple(scores.shape[:-axes]) + (-1,))
        probs = ops.reshape(ops.softmax(flat, axis=-1), tuple(scores.shape[:-axes]) + _known(scores.shape[-axes:]))
    return probs if mask is None else ops.where(mask, probs, 0.0)


def _known(dims: tuple) -> tuple:
    """Dims for a reshape that does not keep them in place: the one unknown dim becomes -1 (inferred)."""
    return tuple(-1 if d is None else d for d in dims)


class _HeadProjection(Layer):
    """`inputs @ kernel + bias`, contracting the inputs' last `contract` axes with the kernel's leading ones: the
    math of Keras' EinsumDense sublayers of MultiHeadAttention, with their weight names and shapes."""

    def __init__(self, kernel_shape: tuple, contract: int, use_bias: bool, owner: "MultiHeadAttention", name: str):
        super().__init__(name=name, dtype=owner.dtype_policy, activity_regularizer=owner._activity_regularizer)
        self.contract = contract
        self.kernel = self.add_weight(shape=kernel_shape, initializer=owner._kernel_initializer,
                                      regularizer=owner._kernel_regularizer, constraint=owner._kernel_constraint,
                                      name="kernel")
        self.bias = None
        if use_bias:
            self.bias = self.add_weight(shape=kernel_shape[contract:], initializer=owner._bias_initializer,
                                        regularizer=owner._bias_regularizer, constraint=owner._bias_constraint,
                                        name="bias")
        self.built = True

    def call(self, inputs):
        lead = tuple(inputs.shape[:-self.contract])
        in_shape, out_shape = self.kernel.shape[:self.contract], self.kernel.shape[self.contract:]
        x = inputs if self.contract == 1 else ops.reshape(inputs, lead + (math.prod(in_shape),))
        y = ops.matmul(x, ops.reshape(self.kernel, (math.prod(in_shape), math.prod(out_shape))))
        y = ops.reshape(y, lead + out_shape)
        return y if self.bias is None else ops.add(y, self.bias)


class QueryKeyValueAttention(Layer):
    """What the attention layers share: query/key/value/output projections, built from the three inputs' shapes."""

    query_dense = property(lambda self: self._query_dense)
    key_dense = property(lambda self: self._key_dense)
    value_dense = property(lambda self: self._value_dense)
    output_dense = property(lambda self: self._output_dense)

    def _maybe_build(self, args, kwargs) -> None:
        """Builds from the shapes of query, value and key, which the base class's first-argument build cannot see."""
        if self.built:
            return
        bound = self._call_signature.bind(*args, **kwargs).arguments
        key = bound.get("key")
        self.build(tuple(bound["query"].shape), tuple(bound["value"].shape), None if key is None else tuple(key.shape))

    def _store_projection_args(self, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                               activity_regularizer, kernel_constraint, bias_constraint, seed) -> None:
        """Keeps the projections' initializers, penalties and constraints, resolved as Keras does, and the dropout
        seed (drawn when None)."""
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint, self._bias_constraint = kernel_constraint, bias_constraint
        self.seed = seed
        self._seed_offset = kg_random.next_seed() if seed is None else int(seed)

    def _projection_config(self) -> dict:
        """The config entries of `_store_projection_args`, serialized as Keras writes them."""
        return {
            "kernel_initializer": initializers.serialize(self._kernel_initializer),
            "bias_initializer": initializers.serialize(self._bias_initializer),
            "kernel_regularizer": regularizers.serialize(self._kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self._bias_regularizer),
            "activity_regularizer": regularizers.serialize(self._activity_regularizer),
            "kernel_constraint": self._kernel_constraint,
            "bias_constraint": self._bias_constraint,
            "seed": self.seed,
        }

    @staticmethod
    def _inputs_and_masks(query, value, key, query_mask, value_mask, key_mask):
        """The key (the value when None) and each input's mask: the one passed, else the one its tensor carries."""
        query_mask = get_mask(query) if query_mask is None else query_mask
        value_mask = get_mask(value) if value_mask is None else value_mask
        if key is not None and key_mask is None:
            key_mask = get_mask(key)
        return (value if key is None else key), query_mask, value_mask, key_mask


class MultiHeadAttention(QueryKeyValueAttention):
    """Multi-head attention (Vaswani et al., 2017); self-attention when query, value (and key) are one tensor.

    Weights are Keras' (query, key, value and attention_output kernels and biases, in that order and shape), so
    `set_weights(keras_layer.get_weights())` carries a Keras layer over.

    Args:
        num_heads: the number of attention heads.
        key_dim: the size of each head for query and key.
        value_dim: the size of each head for value (default `key_dim`).
        dropout: the dropout rate on the attention probabilities while training.
        use_bias: whether the projections have biases.
        output_shape: the output's trailing shape (an int or tuple; default the query's last dim).
        attention_axes: the query/value axes attended over (default every axis but batch and features).
        kernel_initializer, bias_initializer: initializers of the projections' kernels and biases.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties on the projections' kernels,
            biases and outputs, as in Keras.
        kernel_constraint, bias_constraint: constraints stored on the projections' kernels and biases.
        seed: an int making the dropout masks reproducible.
    """

    supports_masking = True

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        sizes = {"num_heads": num_heads, "key_dim": key_dim, **({} if value_dim is None else {"value_dim": value_dim})}
        for arg, value in sizes.items():
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Layer {self.name!r} (MultiHeadAttention): `{arg}` must be a positive int, "
                                 f"got {arg}={value!r}")
        if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"Layer {self.name!r} (MultiHeadAttention): `dropout` must be in [0, 1), got {dropout!r}")
        self._num_heads, self._key_dim = num_heads, key_dim
        self._value_dim = value_dim or key_dim
        self._dropout = float(dropout)
        self._use_bias = use_bias
        self._output_shape = (output_shape,) if isinstance(output_shape, int) else (
            tuple(output_shape) if output_shape else None)
        self._attention_axes = (attention_axes,) if isinstance(attention_axes, int) else (
            tuple(attention_axes) if attention_axes is not None else None)
        self._store_projection_args(kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                                    activity_regularizer, kernel_constraint, bias_constraint, seed)

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)
    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        where = f"Layer {self.name!r} (MultiHeadAttention)"
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"{where}: value and key must agree on every dim but the last, got "
                             f"value_shape={tuple(value_shape)} and key_shape={tuple(key_shape)}")
        rank = len(query_shape)
        if rank < 3 or len(value_shape) != rank:
            raise ValueError(f"{where} needs query and value of one rank >= 3 (batch, ..., features), got "
                             f"query_shape={tuple(query_shape)} and value_shape={tuple(value_shape)}")
        dims = {"query": query_shape[-1], "value": value_shape[-1], "key": key_shape[-1]}
        if None in dims.values():
            raise ValueError(f"{where} needs known feature (last) dims, got query_shape={tuple(query_shape)}, "
                             f"value_shape={tuple(value_shape)} and key_shape={tuple(key_shape)}")
        axes = self._attention_axes if self._attention_axes is not None else tuple(range(1, rank - 1))
        normalized = tuple(sorted({a % rank for a in axes if -rank <= a < rank}))
        if len(normalized) != len(axes) or not all(1 <= a <= rank - 2 for a in normalized):
            raise ValueError(f"{where}: attention_axes {axes} must be distinct axes of the query other than batch and "
                             f"features, got query_shape={tuple(query_shape)}")
        self._attend = normalized
        heads = self._num_heads
        self._query_dense = _HeadProjection((dims["query"], heads, self._key_dim), 1, self._use_bias, self, "query")
        self._key_dense = _HeadProjection((dims["key"], heads, self._key_dim), 1, self._use_bias, self, "key")
        self._value_dense = _HeadProjection((dims["value"], heads, self._value_dim), 1, self._use_bias, self, "value")
        self._output_dense = _HeadProjection((heads, self._value_dim) + (self._output_shape or (dims["query"],)), 2,
                                             self._use_bias, self, "attention_output")
        self.built = True

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores: bool = False, training=None, use_causal_mask: bool = False):
        key, query_mask, value_mask, key_mask = self._inputs_and_masks(query, value, key, query_mask, value_mask,
                                                                      key_mask)
        mask = self._attention_mask(query_mask, value_mask, key_mask, attention_mask)
        query, key, value = self._query_dense(query), self._key_dense(key), self._value_dense(value)
        scale = 1.0 / math.sqrt(self._key_dim)
        # Keras takes its fused kernel exactly here; that kernel and the explicit softmax differ on a query that
        # sees no key: the first averages all values, the second outputs zeros.
        if self._dropout == 0 and not return_attention_scores and ops.ndim(query) == 4:
            while mask is not None and ops.ndim(mask) < 4:
                mask = ops.expand_dims(mask, -3)
            output = ops.dot_product_attention(query, key, value, mask=mask, scale=scale, is_causal=use_causal_mask)
            scores = None
        else:
            output, scores = self._attend_explicitly(ops.multiply(query, scale), key, value, mask, use_causal_mask,
                                                     training)
        output = self._output_dense(output)
        return (output, scores) if return_attention_scores else output

    def _attention_mask(self, query_mask, value_mask, key_mask, attention_mask):
        """attention_mask AND query_mask[..., None] AND value_mask[..., None, :] AND key_mask[..., None, :]."""
        parts = [] if attention_mask is None else [ops.cast(attention_mask, "bool")]
        if query_mask is not None:
            parts.append(ops.expand_dims(ops.cast(query_mask, "bool"), -1))
        for m in (value_mask, key_mask):
            if m is not None:
                parts.append(ops.expand_dims(ops.cast(m, "bool"), -2))
        mask = parts[0] if parts else None
        for part in parts[1:]:
            mask = ops.logical_and(mask, part)
        return mask

    def _attend_explicitly(self, query, key, value, mask, use_causal_mask: bool, training):
        """Attention with probabilities in hand (to return or drop out), over any attention axes: the heads and
        the non-attended axes become batch dims, and the attended axes are flattened into one."""
        rank, attend = ops.ndim(query), self._attend
        batch = [a for a in range(rank - 1) if a not in attend]
        perm = tuple(batch + list(attend) + [rank - 1])
        query, key, value = (ops.transpose(x, perm) for x in (query, key, value))
        lead = tuple(query.shape[:len(batch)])
        spans = tuple(query.shape[len(batch):-1]) + tuple(key.shape[len(batch):-1])
        if len(attend) > 1:
            if use_causal_mask:
                raise ValueError(f"Layer {self.name!r} (MultiHeadAttention): use_causal_mask needs one attention "
                                 f"axis, got attention_axes={attend}")
            if sum(d is None for d in spans) > 1:
                raise ValueError(f"Layer {self.name!r} (MultiHeadAttention) needs known sizes on the attention axes "
                                 f"{attend} (at most one unknown), got query and key shapes {tuple(query.shape)} and "
                                 f"{tuple(key.shape)} with the heads moved before them")
            query, key, value = (ops.reshape(x, lead + (-1, x.shape[-1])) for x in (query, key, value))
        scores = ops.matmul(query, ops.transpose(key, tuple(range(len(lead))) + (len(lead) + 1, len(lead))))
        if len(attend) > 1:
            scores = ops.reshape(scores, lead + _known(spans))
        if use_causal_mask:
            causal = causal_mask(scores)
            mask = causal if mask is None else ops.logical_and(mask, causal)
        probs = _masked_softmax(scores, mask, len(attend))
        dropped = probs
        if training and self._dropout > 0:
            trace = current_trace()
            rng = trace.rng() if trace is not None else kg_random.key()
            dropped = dropout_with_key(probs, self._dropout, self._seed_offset, rng)
        if len(attend) > 1:
            flat = tuple(-1 if None in part else math.prod(part) for part in (spans[:len(attend)], spans[len(attend):]))
            dropped = ops.reshape(dropped, lead + flat)
        output = ops.matmul(dropped, value)
        if len(attend) > 1:
            output = ops.reshape(output, lead + _known(spans[:len(attend)]) + (output.shape[-1],))
        inverse = tuple(sorted(range(rank), key=lambda i: perm[i]))
        return ops.transpose(output, inverse), probs

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_heads": self._num_heads,
            "key_dim": self._key_dim,
            "value_dim": self._value_dim,
            "dropout": self._dropout,
            "use_bias": self._use_bias,
            "output_shape": self._output_shape,
            "attention_axes": self._attention_axes,
            **self._projection_config(),
        }
