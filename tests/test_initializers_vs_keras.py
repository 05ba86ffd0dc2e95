"""Initializers against keras.initializers: an int seed gives Keras' exact values; configs are Keras'."""

import keras
import numpy as np
import pytest

from kgraph import initializers

# (class name, kwargs, shape): one line per case.
CASES = [
    ("RandomNormal", {"mean": 1.0, "stddev": 0.3, "seed": 4}, (5, 3)),
    ("RandomUniform", {"minval": -2.0, "maxval": 1.0, "seed": 4}, (7,)),
    ("TruncatedNormal", {"stddev": 2.0, "seed": 9}, (4, 4)),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": 1}, (3, 3, 2, 4)),
    ("VarianceScaling", {"mode": "fan_avg", "distribution": "untruncated_normal", "seed": 2}, (6, 5)),
    ("VarianceScaling", {"seed": 3, "input_axes": [0, 1], "output_axes": [2]}, (2, 3, 4)),
    ("GlorotUniform", {"seed": 5}, (8, 3)),
    ("GlorotNormal", {"seed": 5}, (8, 3)),
    ("HeUniform", {"seed": 6}, (3, 3, 4, 2)),
    ("HeNormal", {"seed": 6}, (10, 2)),
    ("LecunUniform", {"seed": 7}, (4, 9)),
    ("LecunNormal", {"seed": 7}, (4, 9)),
    ("Orthogonal", {"seed": 8}, (6, 4)),
    ("Orthogonal", {"gain": 2.0, "seed": 8}, (3, 7)),
    ("Orthogonal", {"seed": 8}, (2, 3, 5)),
    ("Identity", {"gain": 3.0}, (4, 6)),
    ("Constant", {"value": 1.5}, (2, 2)),
    ("Zeros", {}, (3,)),
    ("Ones", {}, (3,)),
    ("STFT", {}, (16, 1, 9)),
    ("STFT", {"side": "imag", "window": "hamming", "scaling": "spectrum", "periodic": True}, (8, 1, 5)),
]


@pytest.mark.parametrize("name,kwargs,shape", CASES, ids=[f"{n}-{k}-{s}" for n, k, s in CASES])
def test_values_and_config_match_keras(name, kwargs, shape):
    ours = getattr(initializers, name)(**kwargs)
    theirs = getattr(keras.initializers, name)(**kwargs)
    np.testing.assert_allclose(np.asarray(ours(shape, dtype="float32")), np.asarray(theirs(shape, dtype="float32")),
                               rtol=1e-5, atol=1e-6)
    expected = theirs.get_config()
    if name == "Identity":
        expected = {"gain": kwargs["gain"]}  # Keras 3.15 leaves `gain` out of Identity's config (docs/compat.md)
    assert ours.get_config() == expected
    rebuilt = initializers.deserialize(keras.initializers.serialize(theirs))
    assert type(rebuilt).__name__ == type(ours).__name__ and rebuilt.get_config() == theirs.get_config() | (
        {"gain": 1.0} if name == "Identity" else {})


def test_orthogonal_is_orthogonal_without_a_seed():
    q = initializers.Orthogonal()((5, 3))
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-5)


def test_aliases_and_bad_input():
    assert initializers.glorot_uniform is initializers.GlorotUniform
    assert isinstance(initializers.get("orthogonal"), initializers.Orthogonal)
    with pytest.raises(ValueError, match="2D matrices"):
        initializers.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match="at least two-dimensional"):
        initializers.Orthogonal()((3,))
    with pytest.raises(ValueError, match="Could not interpret initializer identifier: 'glorot'"):
        initializers.get("glorot")
    with pytest.raises(ValueError, match="`seed` argument"):
        initializers.RandomNormal(seed="x")
