"""Weight initializers with Keras 3's names, defaults and `get_config`."""

from __future__ import annotations

import math

import numpy as np

from kgraph import random as kg_random
from kgraph import variables
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
    """A random initializer. An int `seed` draws with JAX exactly as Keras does (the same values as Keras for
    that seed, on every call); without one, draws come from NumPy on the host, fresh each call and repeatable
    after `kgraph.utils.set_random_seed`."""

    def __init__(self, seed=None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"`seed` argument should be an integer or None. Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng(kg_random.next_seed())

    def _draw(self, kind: str, shape, dtype, **kwargs) -> np.ndarray:
        """`kind` ("normal", "uniform", "truncated_normal") samples: Keras' JAX draw for an int seed, else NumPy."""
        shape, np_dtype = tuple(shape), _np_dtype(dtype)
        if self.seed is not None:
            return np.asarray(getattr(kg_random, kind)(shape, dtype=canonical_dtype(dtype or "float32"),
                                                       seed=self.seed, **kwargs))
        rng = self._rng()
        if kind == "uniform":
            return rng.uniform(kwargs["minval"], kwargs["maxval"], shape).astype(np_dtype)
        sample = _truncated_normal(rng, shape) if kind == "truncated_normal" else rng.standard_normal(shape)
        return (kwargs["mean"] + kwargs["stddev"] * sample).astype(np_dtype)

    def get_config(self):
        return {"seed": self.seed}


class RandomUniform(_Random):
    """Samples uniformly from `[minval, maxval)`."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return self._draw("uniform", shape, dtype, minval=self.minval, maxval=self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(_Random):
    """Samples from `N(mean, stddev**2)`."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return self._draw("normal", shape, dtype, mean=self.mean, stddev=self.stddev)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Samples from `N(mean, stddev**2)` truncated to two standard deviations."""

    def __call__(self, shape, dtype=None):
        return self._draw("truncated_normal", shape, dtype, mean=self.mean, stddev=self.stddev)


def _fans(shape, input_axes=None, output_axes=None) -> tuple[float, float]:
    """Keras' fan-in and fan-out: from `input_axes`/`output_axes` when both are given, else the kernel layout
    `(..., input_depth, depth)` with the leading dims as the receptive field."""
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
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

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        super().__init__(seed)
        self.input_axes = None if input_axes is None else list(input_axes)
        self.output_axes = None if output_axes is None else list(output_axes)
        if scale <= 0:
            raise ValueError(f"VarianceScaling: `scale` must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: `mode` must be fan_in, fan_out or fan_avg, got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: `distribution` must be truncated_normal, untruncated_normal or uniform, got {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return self._draw("uniform", shape, dtype, minval=-limit, maxval=limit)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(variance) / 0.87962566103423978
            return self._draw("truncated_normal", shape, dtype, mean=0.0, stddev=stddev)
        return self._draw("normal", shape, dtype, mean=0.0, stddev=math.sqrt(variance))

    def get_config(self):
        return {"seed": self.seed, "scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


def _preset(name: str, scale: float, mode: str, distribution: str):
    class Preset(VarianceScaling):
        def __init__(self, seed=None, input_axes=None, output_axes=None):
            super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

        def get_config(self):
            return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}

    Preset.__name__ = Preset.__qualname__ = name
    Preset.__doc__ = f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})."
    return Preset


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal")

class Orthogonal(_Random):
    """A (semi-)orthogonal matrix times `gain`, from the QR decomposition of a normal draw (Keras' recipe);
    shapes of rank > 2 are flattened to `(prod(shape[:-1]), shape[-1])`.

    Args:
        gain: the multiplicative factor.
        seed: an int for Keras' exact values, or None.
    """

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. Received: "
                             f"shape={tuple(shape)} of rank {len(shape)}.")
        num_rows, num_cols = math.prod(shape[:-1]), shape[-1]
        flat_shape = (max(num_cols, num_rows), min(num_cols, num_rows))
        a = self._draw("normal", flat_shape, dtype, mean=0.0, stddev=1.0).astype(np.float32)
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if num_rows < num_cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(_np_dtype(dtype))

    def get_config(self):
        return {"seed": self.seed, "gain": self.gain}


class Identity(Initializer):
    """`gain` times the identity matrix (2D shapes only).

    Args:
        gain: the multiplicative factor.
    """

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={tuple(shape)} of rank {len(shape)}.")
        return (self.gain * np.eye(*shape)).astype(_np_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


class STFT(Initializer):
    """The real or imaginary DFT basis times a window, shaped `(frame_length, input_channels, fft_bins)`, as the
    kernel of a convolution that computes a short-time Fourier transform.

    Args:
        side: "real" (cosine) or "imag" (sine).
        window: a scipy window name, an array of length `frame_length`, or None.
        scaling: "density", "spectrum" or None: how the window normalizes the kernel.
        periodic: use a periodic window.
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(f"Scaling is invalid, it must be `None`, 'density' or 'spectrum'. Received scaling={scaling}")
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype=None):
        dtype = _np_dtype(dtype)
        frame_length, _, fft_bins = shape
        win, scale = None, 1.0
        if self.window is not None:
            win = self.window
            if isinstance(win, str):
                import scipy.signal  # optional: only the STFT initializer's windows need SciPy

                win = scipy.signal.get_window(win, frame_length, self.periodic)
            win = np.asarray(win, dtype=dtype)
            if win.shape != (frame_length,):
                raise ValueError(f"The shape of `window` must be equal to [frame_length]. Received: window shape={win.shape}")
            win = win.reshape(frame_length, 1, 1)
            if self.scaling == "density":
                scale = np.sqrt(np.sum(np.square(win)))
            elif self.scaling == "spectrum":
                scale = np.sum(np.abs(win))
        freq = np.arange(fft_bins, dtype=dtype).reshape(1, 1, fft_bins) / dtype.type((fft_bins - 1) * 2)
        time = np.arange(frame_length, dtype=dtype).reshape(frame_length, 1, 1)
        args = (-2 * time * freq * np.arccos(dtype.type(-1))).astype(dtype)
        kernel = np.cos(args) if self.side == "real" else np.sin(args)
        if win is not None:
            kernel = kernel * win / scale
        return kernel.astype(dtype)

    def get_config(self):
        return {"side": self.side, "window": self.window, "periodic": self.periodic, "scaling": self.scaling}


IdentityInitializer, OrthogonalInitializer, STFTInitializer = Identity, Orthogonal, STFT
constant, zeros, ones = Constant, Zeros, Ones
random_uniform, random_normal, truncated_normal, variance_scaling = (RandomUniform, RandomNormal, TruncatedNormal,
                                                                     VarianceScaling)
glorot_uniform, glorot_normal, he_uniform, he_normal = GlorotUniform, GlorotNormal, HeUniform, HeNormal
lecun_uniform, lecun_normal, orthogonal, identity, stft = LecunUniform, LecunNormal, Orthogonal, Identity, STFT

_ALL = {cls.__name__: cls for cls in (Constant, Zeros, Ones, RandomUniform, RandomNormal, TruncatedNormal,
                                      VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal,
                                      LecunUniform, LecunNormal, Orthogonal, Identity, STFT)}
_ALL.update({"IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal, "STFTInitializer": STFT})
_ALIASES = {"uniform": "RandomUniform", "normal": "RandomNormal", "zeros": "Zeros", "ones": "Ones", "constant": "Constant", "random_uniform": "RandomUniform",
            "random_normal": "RandomNormal", "truncated_normal": "TruncatedNormal",
            "variance_scaling": "VarianceScaling", "glorot_uniform": "GlorotUniform",
            "glorot_normal": "GlorotNormal", "he_uniform": "HeUniform", "he_normal": "HeNormal",
            "lecun_uniform": "LecunUniform", "lecun_normal": "LecunNormal", "orthogonal": "Orthogonal",
            "identity": "Identity", "stft": "STFT"}


def serialize(initializer: Initializer) -> dict:
    return {"module": "keras.initializers", "class_name": type(initializer).__name__,
            "config": initializer.get_config(), "registered_name": None}


def deserialize(config, custom_objects: dict | None = None) -> Initializer:
    """The initializer `serialize` (or `keras.initializers.serialize`) described: a config dict or a name."""
    custom = dict(custom_objects or {})
    if isinstance(config, dict):
        cls = custom.get(config.get("class_name")) or _ALL.get(config.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown initializer class_name {config.get('class_name')!r}. "
                             f"Expected one of: {', '.join(sorted(_ALL))}.")
        return cls.from_config(config.get("config", {}))
    if isinstance(config, str) and config in custom:
        return custom[config]()
    return get(config)


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


variables.set_initializer_lookup(get)
