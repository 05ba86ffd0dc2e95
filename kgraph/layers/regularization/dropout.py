"""Dropout: zeroes a `rate` fraction of inputs while training and rescales the rest."""

from __future__ import annotations

from kgraph import random as kg_random
from kgraph.layers.layer import Layer
from kgraph.ops.nn import dropout_with_key
from kgraph.tracing import current_trace


class Dropout(Layer):
    """Inverted dropout, active only when `training` is true.

    Args:
        rate: float in [0, 1), the fraction of inputs to drop.
        noise_shape: the shape of the binary mask, broadcast over the input (None dims follow the input).
        seed: an int making this layer's masks reproducible.
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. Received: rate={rate!r}")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        self._seed_offset = kg_random.next_seed() if seed is None else int(seed)
        self.built = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        trace = current_trace()
        key = trace.rng() if trace is not None else kg_random.key()
        return dropout_with_key(inputs, self.rate, self._seed_offset, key, self.noise_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}


