"""Random numbers as Keras 3 draws them on JAX, plus the global seed that initializers, Dropout and `fit` use.

Every function takes `seed`: an int (the same values on every call, bit-equal to Keras' for that int), a
`SeedGenerator` (a new draw per call; its state is a Variable, so inside a compiled step it is threaded
functionally and the step stays pure), a raw JAX key, or None (kgraph's global generator, which
`set_seed` makes repeatable; not usable while `jax.jit` traces, as in Keras).
"""

from __future__ import annotations

import itertools
import os
import random as _pyrandom

import jax
import jax.numpy as jnp
import numpy as np

from kgraph import config
from kgraph.ir.types import canonical_dtype
from kgraph.lowering.jax import get_rule
from kgraph.seeds import key, next_seed, set_seed
from kgraph.tracing import SymbolicDim, SymbolicTensor, current_trace, merge_dims
from kgraph.variables import Variable

_generator_ids = itertools.count()


class SeedGenerator:
    """A stream of seeds whose state, `[seed, counter]`, is a non-trainable Variable.

    Pass it as `seed=` to get different values on each call. Inside a compiled step its state is read and
    written functionally, so a layer that owns one stays jittable.

    Args:
        seed: the initial seed (an int); a random one when None.
        name: the generator's name; defaults to "seed_generator", made unique.
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs) -> None:
        kwargs.pop("backend", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
        count = next(_generator_ids)
        self.name = name or ("seed_generator" if count == 0 else f"seed_generator_{count}")
        self._initial_seed = seed
        if seed is None:
            seed = _pyrandom.randint(1, int(1e9))
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed!r}")
        self.state = Variable(np.array([int(seed) & 0xFFFFFFFF, 0], np.uint32), dtype="uint32", trainable=False,
                              name="seed_generator_state")
        self.state.path = f"{self.name}/seed_generator_state"

    def next(self, ordered: bool = True):
        """The current key (uint32[2]); advances the state."""
        value = self.state.value
        if ordered:
            self.state.assign(value + np.asarray([0, 1], np.uint32))
        else:
            self.state.assign((value + 1) * 5387 % 933199)
        return value if isinstance(value, SymbolicTensor) else jnp.asarray(value, jnp.uint32)

    def get_config(self) -> dict:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "SeedGenerator":
        return cls(**config)


def _in_jax_trace() -> bool:
    return isinstance(jnp.ones(()), jax.core.Tracer)


def draw_seed(seed):
    """The raw JAX key for a `seed` argument (int, SeedGenerator, key array or None)."""
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return jnp.asarray([int(seed) & 0xFFFFFFFF, 0], jnp.uint32)
    if isinstance(seed, jax.Array) or (isinstance(seed, np.ndarray) and seed.shape == (2,)):
        return seed
    if seed is None:
        if _in_jax_trace():
            raise ValueError(
                "When tracing a JAX function, random functions need a seed: create a "
                "`kgraph.random.SeedGenerator`, keep it on your layer or model, and pass it as `seed=`. "
                "An unseeded draw would become a constant of the compiled function.")
        return key()
    raise ValueError("Argument `seed` must be either an integer or an instance of `SeedGenerator`. "
                     f"Received: seed={seed!r} (of type {type(seed)})")


def _eager_seed(seed, fn: str):
    """`draw_seed(seed)` for functions that have no graph op: refused where the key is a traced value."""
    key = draw_seed(seed)
    if isinstance(key, SymbolicTensor):
        raise ValueError(f"`kgraph.random.{fn}` cannot draw inside a traced `call` with a SeedGenerator: only "
                         "normal, uniform, truncated_normal and randint record into the graph; draw with an int "
                         "seed, or outside `call`")
    return key


def _float_dtype(dtype, fn: str) -> str:
    dtype = dtype or config.floatx()
    if not jnp.issubdtype(jnp.dtype(dtype), jnp.floating):
        raise ValueError(f"`kgraph.random.{fn}` requires a floating point `dtype`. Received: dtype={dtype}")
    return dtype


def _dims(shape) -> tuple:
    return (shape,) if isinstance(shape, (int, np.integer, SymbolicDim)) else tuple(shape)


def _shape(shape, fn: str) -> tuple:
    dims = _dims(shape)
    if any(isinstance(d, SymbolicDim) for d in dims):
        raise ValueError(f"`kgraph.random.{fn}` cannot take the shape {dims}: a dim known only when the model runs "
                         "(the traced batch) sizes normal, uniform, truncated_normal and randint only")
    if any(d is None for d in dims):
        raise ValueError(f"`kgraph.random.{fn}` needs a shape of ints, got {dims}; a batch dim unknown outside a "
                         "layer's call (None) sizes a draw made inside `call`, where ops.shape gives it")
    return tuple(int(d) for d in dims)


def _sample(distribution: str, shape, low, high, dtype: str, seed):
    """Draws eagerly, or records a `random_sample` node where the key or a dim of `shape` is traced."""
    dims = _dims(shape)
    traced = [d for d in dims if isinstance(d, SymbolicDim)]
    trace = traced[0].trace if traced else current_trace()
    fold = None
    if seed is None and traced:
        key, fold = trace.rng(), trace.next_seed()
    else:
        key = draw_seed(seed)
    if not traced and not isinstance(key, SymbolicTensor):
        return get_rule("random_sample")(key, distribution=distribution, shape=_shape(dims, distribution),
                                         dtype=dtype, low=low, high=high, seed=None)
    refs, exprs = merge_dims(dims, offset=1)
    key = key if isinstance(key, SymbolicTensor) else trace.constant(np.asarray(key, np.uint32))
    return trace.emit("random_sample", [key, *refs], {"distribution": distribution, "shape": tuple(exprs),
                                                      "dtype": dtype, "low": low, "high": high, "seed": fold})


def normal(shape, mean: float = 0.0, stddev: float = 1.0, dtype=None, seed=None):
    """Samples from a normal distribution `N(mean, stddev**2)`."""
    return _sample("normal", shape, float(mean), float(stddev), _float_dtype(dtype, "normal"), seed)


def uniform(shape, minval: float = 0.0, maxval: float = 1.0, dtype=None, seed=None):
    """Samples uniformly from `[minval, maxval)`."""
    return _sample("uniform", shape, float(minval), float(maxval), _float_dtype(dtype, "uniform"), seed)


def randint(shape, minval: int, maxval: int, dtype="int32", seed=None):
    """Samples integers uniformly from `[minval, maxval)`."""
    if dtype and not jnp.issubdtype(jnp.dtype(dtype), jnp.integer):
        raise ValueError(f"`kgraph.random.randint` requires an integer `dtype`. Received: dtype={dtype}")
    return _sample("randint", shape, int(minval), int(maxval), canonical_dtype(dtype or "int32"), seed)


def truncated_normal(shape, mean: float = 0.0, stddev: float = 1.0, dtype=None, seed=None):
    """Samples from a normal distribution truncated to two standard deviations around `mean`."""
    dtype = _float_dtype(dtype, "truncated_normal")
    return _sample("truncated_normal", shape, float(mean), float(stddev), dtype, seed)


def categorical(logits, num_samples: int, dtype="int32", seed=None):
    """Draws `num_samples` class indices per row of `logits` (shape `(batch, num_classes)`)."""
    logits = jnp.asarray(logits)
    if logits.ndim != 2:
        raise ValueError("`logits` should be a 2-D tensor with shape [batch_size, num_classes]. "
                         f"Received: logits={logits}")
    output_shape = (logits.shape[0], int(num_samples))
    output = jax.random.categorical(_eager_seed(seed, "categorical"), logits[..., None], shape=output_shape, axis=1)
    return output.astype(dtype)


def dropout(inputs, rate: float, noise_shape=None, seed=None):
    """Zeroes entries with probability `rate` and scales the rest by `1 / (1 - rate)`."""
    inputs = jnp.asarray(inputs)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"Argument `rate` must be in [0, 1]. Received: rate={rate}")
    if rate == 1.0:
        return jnp.zeros_like(inputs)
    if rate == 0.0:
        return inputs
    keep_prob = 1.0 - rate
    shape = inputs.shape if noise_shape is None else tuple(
        inputs.shape[i] if d is None else d for i, d in enumerate(noise_shape))
    mask = jnp.broadcast_to(jax.random.bernoulli(_eager_seed(seed, "dropout"), p=keep_prob, shape=shape), inputs.shape)
    return jax.lax.select(mask, inputs / keep_prob, jnp.zeros_like(inputs))


def shuffle(x, axis: int = 0, seed=None):
    """`x` with its entries along `axis` randomly permuted."""
    return jax.random.permutation(_eager_seed(seed, "shuffle"), jnp.asarray(x), axis, independent=True)


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples from a Gamma distribution with concentration `alpha`."""
    dtype = _float_dtype(dtype, "gamma")
    return jax.random.gamma(_eager_seed(seed, "gamma"), alpha, shape=_shape(shape, "gamma"), dtype=dtype)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples from a Binomial distribution with `counts` trials of success probability `probabilities`."""
    dtype = _float_dtype(dtype, "binomial")
    return jax.random.binomial(key=_eager_seed(seed, "binomial"), n=jnp.asarray(counts), p=jnp.asarray(probabilities),
                               shape=_shape(shape, "binomial"), dtype=dtype)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples from a Beta distribution with parameters `alpha` and `beta`."""
    dtype = _float_dtype(dtype, "beta")
    return jax.random.beta(key=_eager_seed(seed, "beta"), a=jnp.asarray(alpha), b=jnp.asarray(beta), shape=_shape(shape, "beta"),
                           dtype=dtype)


__all__ = ["SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal", "randint", "shuffle",
           "truncated_normal", "uniform"]
