"""Attention: dot-product (Luong) or concat attention of a query sequence over a value sequence."""

from __future__ import annotations

from kgraph import ops
from kgraph import random as kg_random
from kgraph.layers.layer import Layer
from kgraph.ops.attention import causal_mask
from kgraph.ops.nn import dropout_with_key
from kgraph.tracing import current_trace


class Attention(Layer):
    """softmax(scores(query, key)) · value over inputs `[query, value]` or `[query, value, key]`.

    Args:
        use_scale: whether the scores are multiplied by a learned scalar `scale`.
        score_mode: "dot" (query · keyᵀ) or "concat" (sum of tanh(query + key) over features, times a learned
            scalar `concat_score_weight`).
        dropout: the dropout rate on the attention probabilities while training.
        seed: an int making the dropout masks reproducible.
    """

    supports_masking = True

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}): `score_mode` must be 'dot' or 'concat', "
                             f"got {score_mode!r}")
        if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}): `dropout` must be in [0, 1), got "
                             f"{dropout!r}")
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        self._seed_offset = kg_random.next_seed() if seed is None else int(seed)

    def _check_inputs(self, shapes, mask=None) -> None:
        where = f"Layer {self.name!r} ({type(self).__name__})"
        if (not isinstance(shapes, (list, tuple)) or not 2 <= len(shapes) <= 3
                or not all(isinstance(s, (list, tuple)) for s in shapes)):
            raise ValueError(f"{where} must be called on a list [query, value] or [query, value, key], got input "
                             f"shape(s) {shapes!r}")
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(f"{where} takes a mask list [query_mask, value_mask], got {mask!r}")
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) == 3 else value
        if query[-1] != key[-1] and None not in (query[-1], key[-1]):
            raise ValueError(f"{where}: query and key need one feature dim, got query shape {tuple(query)} and key "
                             f"shape {tuple(key)}")

    def build(self, input_shape):
        self._check_inputs(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(shape=(), initializer="ones", name="concat_score_weight")
        self.built = True

    def _scores(self, query, key):
        """(batch, Tq, Tv) scores of each query step against each key step."""
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.transpose(key, tuple(range(ops.ndim(key) - 2)) + (-1, -2)))
            return scores if self.scale is None else ops.multiply(scores, self.scale)
        summed = ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3))
        if self.scale is not None:
            summed = ops.multiply(self.scale, summed)
        return ops.multiply(self.concat_score_weight, ops.sum(ops.tanh(summed), axis=-1))

    def call(self, inputs, mask=None, training=False, return_attention_scores: bool = False,
             use_causal_mask: bool = False):
        self._check_inputs([tuple(x.shape) for x in inputs] if isinstance(inputs, (list, tuple)) else inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        query_mask, value_mask = (mask[0], mask[1]) if mask else (None, None)
        scores = self._scores(query, key)
        scores_mask = None if value_mask is None else ops.expand_dims(ops.cast(value_mask, "bool"), -2)
        if use_causal_mask:
            causal = causal_mask(scores)
            scores_mask = causal if scores_mask is None else ops.logical_and(scores_mask, causal)
        if scores_mask is not None:
            large = 65504.0 if str(scores.dtype) == "float16" else 1.0e9
            scores = ops.where(ops.logical_not(scores_mask), ops.subtract(scores, large), scores)
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            trace = current_trace()
            rng = trace.rng() if trace is not None else kg_random.key()
            weights = dropout_with_key(weights, self.dropout, self._seed_offset, rng)
        output = ops.matmul(weights, value)
        if query_mask is not None:
            output = ops.where(ops.expand_dims(ops.cast(query_mask, "bool"), -1), output, 0.0)
        return (output, weights) if return_attention_scores else output

    def compute_mask(self, inputs, mask=None):
        return mask[0] if isinstance(mask, (list, tuple)) and mask else None

    def get_config(self) -> dict:
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}
