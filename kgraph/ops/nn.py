"""Neural-network ops: activations, softmax, one_hot, dropout."""

from __future__ import annotations

from kgraph.ops.dispatch import apply, convert
from kgraph.ops.numpy import _float, cast, maximum, minimum, multiply
from kgraph import config
from kgraph.ops.dispatch import dtype_of


def relu(x):
    return apply("relu", _float(x))


def relu6(x):
    return minimum(maximum(_float(x), 0.0), 6.0)


def sigmoid(x):
    return apply("sigmoid", _float(x))


def gelu(x, approximate=True):
    """GELU; Keras' default is the tanh approximation."""
    return apply("gelu", _float(x), approximate=bool(approximate))


def silu(x):
    return apply("silu", _float(x))


swish = silu


def softplus(x):
    return apply("softplus", _float(x))


def softsign(x):
    return apply("softsign", _float(x))


def softmax(x, axis=-1):
    return apply("softmax", _float(x), axis=int(axis))


def log_softmax(x, axis=-1):
    return apply("log_softmax", _float(x), axis=int(axis))


def erf(x):
    return apply("erf", _float(x))


def one_hot(x, num_classes, axis=-1, dtype=None):
    """One-hot encodes integer indices (floats are cast); out-of-range indices give all zeros."""
    indices = x if (dtype_of(x) or "").startswith(("int", "uint")) else cast(x, "int32")
    return apply("one_hot", indices, num_classes=int(num_classes), axis=int(axis), dtype=dtype or config.floatx())


def dropout_with_key(x, rate: float, seed: int, key, noise_shape=None):
    """Inverted dropout drawing from `key` folded with `seed`; layers pass the trace's or step's key."""
    return apply("dropout", convert(x, x.dtype), key, rate=float(rate), seed=int(seed),
                 noise_shape=None if noise_shape is None else tuple(noise_shape))


