"""GroupedQueryAttention: attention whose key/value heads are shared by groups of query heads (Ainslie et al., 2023)."""

from __future__ import annotations

import math

from kgraph import ops
from kgraph import random as kg_random
from kgraph.layers.attention.multi_head_attention import QueryKeyValueAttention, _HeadProjection, _masked_softmax
from kgraph.ops.attention import causal_mask
from kgraph.ops.nn import dropout_with_key
from kgraph.tracing import current_trace


def _positive_int(where: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{where}: `{name}` must be a positive int, got {name}={value!r}")
    return value


class GroupedQueryAttention(QueryKeyValueAttention):
    """Grouped-query attention: `num_query_heads` query heads attend through `num_key_value_heads` shared key and
    value heads, each shared by `num_query_heads // num_key_value_heads` query heads.

    Weights are Keras' (query, key, [gate,] value and attention_output kernels and biases, in that order), so
    `set_weights(keras_layer.get_weights())` carries a Keras layer over.

    Args:
        head_dim: the size of each attention head.
        num_query_heads: the number of query heads.
        num_key_value_heads: the number of key and value heads; must divide `num_query_heads`.
        dropout: the dropout rate on the attention probabilities while training.
        use_bias: whether the projections have biases.
        sliding_window: if set, a query only attends to keys less than this many positions away.
        flash_attention: accepted for Keras compatibility; XLA picks the attention kernel.
        kernel_initializer, bias_initializer: initializers of the projections' kernels and biases.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties on the projections.
        kernel_constraint, bias_constraint: constraints stored on the projections' kernels and biases.
        use_gate: multiply the attention output by a sigmoid gate projected from the query.
        seed: an int making the dropout masks reproducible.
    """

    supports_masking = True

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0, use_bias=True,
                 sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        where = f"Layer {self.name!r} (GroupQueryAttention)"
        self.head_dim = _positive_int(where, "head_dim", head_dim)
        self.num_query_heads = _positive_int(where, "num_query_heads", num_query_heads)
        self.num_key_value_heads = _positive_int(where, "num_key_value_heads", num_key_value_heads)
        if num_query_heads % num_key_value_heads != 0:
            raise ValueError("`num_query_heads` must be divisible by `num_key_value_heads`. Received: "
                             f"num_query_heads={num_query_heads}, num_key_value_heads={num_key_value_heads}")
        if sliding_window is not None and (not isinstance(sliding_window, int) or sliding_window <= 0):
            raise ValueError("`sliding_window` must be `None` or a positive integer. "
                             f"Received: sliding_window={sliding_window}")
        if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"{where}: `dropout` must be in [0, 1), got {dropout!r}")
        if flash_attention and dropout > 0.0:
            raise ValueError("Dropout is not supported when flash attention is enabled. "
                             "Please set dropout to 0.0 to use flash attention.")
        self.num_repeats = num_query_heads // num_key_value_heads
        self.dropout = dropout
        self.use_bias = use_bias
        self.use_gate = use_gate
        self.sliding_window = sliding_window
        self._flash_attention = bool(flash_attention)
        self._store_projection_args(kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                                    activity_regularizer, kernel_constraint, bias_constraint, seed)
        # Keras' GroupedQueryAttention also exposes these as public attributes
        self.kernel_initializer, self.bias_initializer = self._kernel_initializer, self._bias_initializer
        self.kernel_regularizer, self.bias_regularizer = self._kernel_regularizer, self._bias_regularizer
        self.kernel_constraint, self.bias_constraint = self._kernel_constraint, self._bias_constraint

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        where = f"Layer {self.name!r} (GroupQueryAttention)"
        if len(query_shape) != 3 or len(value_shape) != 3 or len(key_shape) != 3:
            raise ValueError(f"{where} takes query, value and key of shape (batch, length, features), got "
                             f"query_shape={tuple(query_shape)}, value_shape={tuple(value_shape)}, "
                             f"key_shape={tuple(key_shape)}")
        if query_shape[-1] is None or value_shape[-1] is None or key_shape[-1] is None:
            raise ValueError(f"{where} needs known feature (last) dims, got query_shape={tuple(query_shape)}, "
                             f"value_shape={tuple(value_shape)} and key_shape={tuple(key_shape)}")
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"{where}: value and key must agree on every dim but the last, got "
                             f"value_shape={tuple(value_shape)} and key_shape={tuple(key_shape)}")
        self.feature_dim = query_shape[-1]
        heads, kv_heads, size = self.num_query_heads, self.num_key_value_heads, self.head_dim
        self._query_dense = _HeadProjection((query_shape[-1], heads, size), 1, self.use_bias, self, "query")
        self._key_dense = _HeadProjection((key_shape[-1], kv_heads, size), 1, self.use_bias, self, "key")
        if self.use_gate:
            self._gate_dense = _HeadProjection((query_shape[-1], heads, size), 1, self.use_bias, self, "gate")
        self._value_dense = _HeadProjection((value_shape[-1], kv_heads, size), 1, self.use_bias, self, "value")
        self._output_dense = _HeadProjection((heads, size, self.feature_dim), 2, self.use_bias, self,
                                             "attention_output")
        self.built = True

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores: bool = False, training=None, use_causal_mask: bool = False):
        key, query_mask, value_mask, key_mask = self._inputs_and_masks(query, value, key, query_mask, value_mask,
                                                                      key_mask)
        mask = self._attention_mask(query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask)
        gate = ops.sigmoid(self._gate_dense(query)) if self.use_gate else None
        query, key, value = self._query_dense(query), self._key_dense(key), self._value_dense(value)
        key = ops.repeat(key, self.num_repeats, axis=2)
        value = ops.repeat(value, self.num_repeats, axis=2)
        scale = 1.0 / math.sqrt(float(self.head_dim))
        if self.dropout == 0 and not return_attention_scores:
            if mask is not None:
                mask = ops.expand_dims(mask, -3)
            output = ops.dot_product_attention(query, key, value, mask=mask, scale=scale, is_causal=use_causal_mask)
            scores = None
        else:
            output, scores = self._attend_explicitly(ops.multiply(query, scale), key, value, mask, training)
        if gate is not None:
            output = ops.multiply(output, gate)
        output = self._output_dense(output)
        return (output, scores) if return_attention_scores else output

    def _attention_mask(self, query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask):
        """attention_mask AND query_mask[..., None] AND value/key_mask[..., None, :] AND the causal and sliding-window
        masks, as bool (batch or 1, T, S); None when nothing masks."""
        parts = [] if attention_mask is None else [ops.cast(attention_mask, "bool")]
        if query_mask is not None:
            parts.append(ops.expand_dims(ops.cast(query_mask, "bool"), -1))
        for m in (value_mask, key_mask):
            if m is not None:
                parts.append(ops.expand_dims(ops.cast(m, "bool"), -2))
        if use_causal_mask or self.sliding_window is not None:
            scores_like = ops.matmul(query[..., :1], ops.transpose(value[..., :1], (0, 2, 1)))
        if use_causal_mask:
            parts.append(ops.expand_dims(causal_mask(scores_like), 0))
        if self.sliding_window is not None:
            rows = ops.cumsum(ops.ones_like(scores_like, dtype="int32"), axis=-2)
            cols = ops.cumsum(ops.ones_like(scores_like, dtype="int32"), axis=-1)
            parts.append(ops.less(ops.abs(ops.subtract(rows, cols)), self.sliding_window))
        mask = parts[0] if parts else None
        for part in parts[1:]:
            mask = ops.logical_and(mask, part)
        return mask

    def _attend_explicitly(self, query, key, value, mask, training):
        """Attention with the probabilities in hand (to return or drop out): (batch, heads, T, S) scores."""
        scores = ops.einsum("bquh,bkuh->buqk", query, key)
        probs = _masked_softmax(scores, mask, 1)
        dropped = probs
        if training and self.dropout > 0:
            trace = current_trace()
            rng = trace.rng() if trace is not None else kg_random.key()
            dropped = dropout_with_key(probs, self.dropout, self._seed_offset, rng)
        return ops.einsum("buqk,bkuh->bquh", dropped, value), probs

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "sliding_window": self.sliding_window,
            "dropout": self.dropout,
            **self._projection_config(),
        }


GroupQueryAttention = GroupedQueryAttention
