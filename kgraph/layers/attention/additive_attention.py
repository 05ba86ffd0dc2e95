"""AdditiveAttention: Bahdanau-style attention, scores = sum(scale * tanh(query + key)) over features."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.attention.attention import Attention


class AdditiveAttention(Attention):
    """Additive attention over inputs `[query, value]` or `[query, value, key]`.

    Args:
        use_scale: whether the tanh terms are weighted by a learned per-feature vector `scale`.
        dropout: the dropout rate on the attention probabilities while training.
        seed: an int making the dropout masks reproducible.
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)

    def build(self, input_shape):
        self._check_inputs(input_shape)
        dim = input_shape[0][-1]
        if dim is None:
            raise ValueError(f"Layer {self.name!r} (AdditiveAttention) needs a known query feature dim, got input "
                             f"shapes {input_shape}")
        self.scale = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(dim,), initializer="glorot_uniform", name="scale")
        self.built = True

    def _scores(self, query, key):
        terms = ops.tanh(ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3)))
        return ops.sum(terms if self.scale is None else ops.multiply(self.scale, terms), axis=-1)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["score_mode"]
        return config
