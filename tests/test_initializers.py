"""Initializers: Keras' statistics (variance scaling, truncation), seeds, identifiers."""

import numpy as np
import pytest

from kgraph import initializers


@pytest.mark.parametrize("name,variance", [
    ("glorot_uniform", 2 / (300 + 200)), ("glorot_normal", 2 / (300 + 200)), ("he_uniform", 2 / 300),
    ("he_normal", 2 / 300), ("lecun_uniform", 1 / 300), ("lecun_normal", 1 / 300),
])
def test_variance_scaling_presets_have_keras_variance(name, variance):
    w = initializers.get(name)((300, 200), dtype="float32")
    assert w.dtype == np.float32 and w.shape == (300, 200)
    assert abs(w.mean()) < 0.01
    assert w.var() == pytest.approx(variance, rel=0.05)
    if name.endswith("normal"):
        stddev = np.sqrt(variance) / 0.87962566103423978
        assert np.abs(w).max() <= 2 * stddev + 1e-6


def test_seeded_initializers_repeat_and_differ_by_seed():
    a = initializers.GlorotUniform(seed=1)((4, 4))
    np.testing.assert_array_equal(a, initializers.GlorotUniform(seed=1)((4, 4)))
    assert not np.array_equal(a, initializers.GlorotUniform(seed=2)((4, 4)))


def test_constants_and_config_round_trip():
    np.testing.assert_array_equal(initializers.get("zeros")((2,)), [0, 0])
    np.testing.assert_array_equal(initializers.Constant(3.0)((2,)), [3, 3])
    config = initializers.serialize(initializers.RandomNormal(mean=1.0, stddev=0.5, seed=3))
    restored = initializers.get(config)
    assert (restored.mean, restored.stddev, restored.seed) == (1.0, 0.5, 3)


def test_unknown_initializer_is_named():
    with pytest.raises(ValueError, match="Could not interpret initializer identifier: 'glorot'"):
        initializers.get("glorot")
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan")
