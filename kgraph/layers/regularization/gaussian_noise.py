"""GaussianNoise and GaussianDropout: additive and multiplicative Gaussian noise while training."""

from __future__ import annotations

import math

from kgraph import ops
from kgraph import random as kg_random
from kgraph.layers.layer import Layer
from kgraph.ops.dispatch import apply
from kgraph.tracing import current_trace


class _GaussianLayer(Layer):
    """A layer drawing `mean + stddev * N(0, 1)` noise of its input's shape, from its own seed, in training only."""

    supports_masking = True

    def __init__(self, seed: int | None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._seed_offset = kg_random.next_seed() if seed is None else int(seed)
        self.built = True

    def _noise(self, inputs, mean: float, stddev: float):
        trace = current_trace()
        key = trace.rng() if trace is not None else kg_random.key()
        template = ops.cast(inputs, self.compute_dtype)
        return apply("random_normal_like", template, key, mean=mean, stddev=stddev, seed=self._seed_offset)

    def compute_output_shape(self, input_shape):
        return input_shape


class GaussianNoise(_GaussianLayer):
    """Adds zero-centred Gaussian noise while training, a regularizer that also augments real-valued inputs.

    Args:
        stddev: float in [0, 1], the noise's standard deviation.
        seed: an int making this layer's noise reproducible.
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs):
        if not 0 <= stddev <= 1:
            raise ValueError(f"Invalid value received for argument `stddev`. Expected a float value between 0 and 1. "
                             f"Received: stddev={stddev}")
        super().__init__(seed, **kwargs)
        self.stddev = stddev

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        return ops.add(inputs, self._noise(inputs, 0.0, float(self.stddev)))

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_GaussianLayer):
    """Multiplies by 1-centred Gaussian noise of stddev `sqrt(rate / (1 - rate))` while training.

    Args:
        rate: float in [0, 1), the drop probability of the equivalent dropout.
        seed: an int making this layer's noise reproducible.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        if not 0 <= rate < 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value in [0, 1). "
                             f"Received: rate={rate}")
        super().__init__(seed, **kwargs)
        self.rate = rate

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        return ops.multiply(inputs, self._noise(inputs, 1.0, math.sqrt(self.rate / (1.0 - self.rate))))

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
