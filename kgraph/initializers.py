"""Weight initializers with Keras 3's names, defaults and `get_config`."""

from __future__ import annotations

import math

import numpy as np

from kgraph import random as kg_random
from kgraph.ir.types import canonical_dtype, numpy_dtype


def _np_dtype(dtype) -> np.dtype:
    return numpy_dtype(canonical_dtype(dtype or "float32"))


def _truncated_normal(rng: np.random.Generator, shape) -> np.ndarray:
    """Standard normal draws redrawn until they fall within two standard deviations."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return values


class Initializer:
    """Callable `(shape, dtype) -> array`. Drawn with NumPy on the host: no device compilation per shape."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Initializer":
        return cls(**config)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, dtype=_np_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class Zeros(Constant):
    def __init__(self):
        super().__init__(0.0)

    def get_config(self):
        return {}


class Ones(Constant):
    def __init__(self):
        super().__init__(1.0)

    def get_config(self):
        return {}


class _Random(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng(kg_random.next_seed() if self.seed is None else self.seed)

    def get_config(self):
        return {"seed": self.seed}


class RandomUniform(_Random):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return self._rng().uniform(self.minval, self.maxval, shape).astype(_np_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(_Random):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return (self.mean + self.stddev * self._rng().standard_normal(shape)).astype(_np_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    def __call__(self, shape, dtype=None):
        return (self.mean + self.stddev * _truncated_normal(self._rng(), shape)).astype(_np_dtype(dtype))


def _fans(shape) -> tuple[float, float]:
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(_Random):
    """Draws with variance `scale / fan` (fan_in, fan_out or their average), as Keras does."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if scale <= 0:
            raise ValueError(f"VarianceScaling: `scale` must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: `mode` must be fan_in, fan_out or fan_avg, got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: `distribution` must be truncated_normal, untruncated_normal or uniform, got {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        dtype = _np_dtype(dtype)
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return self._rng().uniform(-limit, limit, shape).astype(dtype)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(variance) / 0.87962566103423978
            return (stddev * _truncated_normal(self._rng(), shape)).astype(dtype)
        return (math.sqrt(variance) * self._rng().standard_normal(shape)).astype(dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _preset(name: str, scale: float, mode: str, distribution: str):
    class Preset(VarianceScaling):
        def __init__(self, seed=None):
            super().__init__(scale, mode, distribution, seed)

        def get_config(self):
            return {"seed": self.seed}

    Preset.__name__ = Preset.__qualname__ = name
    Preset.__doc__ = f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})."
    return Preset


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal")

_ALL = {cls.__name__: cls for cls in (Constant, Zeros, Ones, RandomUniform, RandomNormal, TruncatedNormal,
                                      VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal,
                                      LecunUniform, LecunNormal)}
_ALIASES = {"uniform": "RandomUniform", "normal": "RandomNormal", "zeros": "Zeros", "ones": "Ones", "constant": "Constant", "random_uniform": "RandomUniform",
            "random_normal": "RandomNormal", "truncated_normal": "TruncatedNormal",
            "variance_scaling": "VarianceScaling", "glorot_uniform": "GlorotUniform",
            "glorot_normal": "GlorotNormal", "he_uniform": "HeUniform", "he_normal": "HeNormal",
            "lecun_uniform": "LecunUniform", "lecun_normal": "LecunNormal"}


def serialize(initializer: Initializer) -> dict:
    return {"module": "keras.initializers", "class_name": type(initializer).__name__,
            "config": initializer.get_config(), "registered_name": None}


def get(identifier) -> Initializer:
    """An initializer from a name ("glorot_uniform"), a config dict, an instance or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, Initializer) or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict):
        cls = _ALL.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown initializer class_name {identifier.get('class_name')!r}. Expected one of: {', '.join(sorted(_ALL))}.")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        name = _ALIASES.get(identifier, identifier)
        if name in _ALL:
            return _ALL[name]()
        raise ValueError(f"Could not interpret initializer identifier: {identifier!r}. Expected one of: {', '.join(sorted(_ALIASES))}.")
    raise TypeError(f"Could not interpret initializer identifier: {identifier!r} (of type {type(identifier).__name__}).")
