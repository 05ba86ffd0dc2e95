"""AlphaDropout: dropout that keeps the mean and variance of SELU activations while training."""

from __future__ import annotations

from kgraph import ops
from kgraph import random as kg_random
from kgraph.layers.layer import Layer
from kgraph.ops.nn import dropout_with_key
from kgraph.tracing import current_trace

_ALPHA = 1.6732632423543772848170429916717
_SCALE = 1.0507009873554804934193349852946


class AlphaDropout(Layer):
    """Sets a `rate` fraction of inputs to SELU's negative saturation value, then rescales so that the mean and
    variance of the inputs are kept; active only when `training` is true.

    Args:
        rate: float in [0, 1), the fraction of inputs to drop.
        noise_shape: the shape of the binary mask, broadcast over the input (None dims follow the input).
        seed: an int making this layer's masks reproducible.
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError("Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                             f"Received: rate={rate!r}")
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed
        self._seed_offset = kg_random.next_seed() if seed is None else int(seed)
        self.built = True

    def call(self, inputs, training=False):
        if not training or self.rate <= 0:
            return inputs
        trace = current_trace()
        key = trace.rng() if trace is not None else kg_random.key()
        rate = float(self.rate)
        kept = ops.multiply(dropout_with_key(ops.ones_like(inputs), rate, self._seed_offset, key, self.noise_shape),
                            1.0 - rate)
        alpha_p = -_ALPHA * _SCALE
        a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * rate
        x = ops.add(ops.multiply(inputs, kept), ops.multiply(ops.subtract(1.0, kept), alpha_p))
        return ops.add(ops.multiply(x, a), b)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}
