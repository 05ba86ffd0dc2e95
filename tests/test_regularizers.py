"""Regularizers against keras.regularizers: the same penalty and config."""

import keras
import numpy as np
import pytest

from kgraph import regularizers

W = np.random.default_rng(2).normal(size=(6, 4)).astype("float32")
# (name, kwargs): one line per case; lower-case names are Keras' function-style aliases.
CASES = [
    ("L1", {"l1": 0.3}), ("L2", {"l2": 0.2}), ("L1L2", {"l1": 0.1, "l2": 0.05}), ("l1", {}), ("l2", {}),
    ("l1_l2", {"l1": 0.01, "l2": 0.02}), ("OrthogonalRegularizer", {"factor": 0.5}),
    ("orthogonal_regularizer", {"factor": 0.1, "mode": "rows"}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_penalty_and_config_match_keras(name, kwargs):
    ours, theirs = getattr(regularizers, name)(**kwargs), getattr(keras.regularizers, name)(**kwargs)
    np.testing.assert_allclose(float(ours(W)), float(theirs(W)), rtol=1e-5)
    # Keras keeps the factors as float32 values: 0.3 reads back as 0.30000001192092896.
    assert ours.get_config() == {k: pytest.approx(v) if isinstance(v, float) else v
                                 for k, v in theirs.get_config().items()}
    assert type(regularizers.deserialize(keras.regularizers.serialize(theirs))) is type(ours)


def test_orthogonal_columns_mode_and_bad_input():
    penalty = regularizers.OrthogonalRegularizer(0.2, mode="columns")(W)
    normed = W / np.linalg.norm(W, axis=0, keepdims=True)
    gram = normed.T @ normed
    expected = 0.2 * 0.5 * np.abs(gram - np.diag(np.diag(gram))).sum() / (4 * 3 / 2)
    np.testing.assert_allclose(float(penalty), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="rank 2"):
        regularizers.OrthogonalRegularizer()(np.ones((2, 2, 2), "float32"))
    with pytest.raises(ValueError, match="`mode`"):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier: 'l3'"):
        regularizers.get("l3")
