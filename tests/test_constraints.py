"""Constraints against keras.constraints, and applied after each step of `fit` as Keras applies them."""

import keras
import numpy as np
import pytest

import kgraph
from kgraph import constraints

W = np.random.default_rng(0).normal(size=(5, 4)).astype("float32") * 2
# (class name, kwargs): one line per case.
CASES = [
    ("MaxNorm", {}), ("MaxNorm", {"max_value": 0.5, "axis": 1}), ("NonNeg", {}), ("UnitNorm", {}),
    ("UnitNorm", {"axis": [0, 1]}), ("MinMaxNorm", {}), ("MinMaxNorm", {"min_value": 1.0, "max_value": 2.0, "rate": 0.3}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_projection_and_config_match_keras(name, kwargs):
    ours, theirs = getattr(constraints, name)(**kwargs), getattr(keras.constraints, name)(**kwargs)
    np.testing.assert_allclose(np.asarray(ours(W)), np.asarray(theirs(W)), rtol=1e-6, atol=1e-7)
    assert ours.get_config() == theirs.get_config()
    assert type(constraints.deserialize(keras.constraints.serialize(theirs))) is type(ours)


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_fit_applies_constraints_after_each_step_like_keras(optimizer):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(32, 5)).astype("float32"), rng.normal(size=(32, 4)).astype("float32")

    def build(api, kernel_constraint):
        model = api.Sequential([api.Input((5,)), api.layers.Dense(4, kernel_constraint=kernel_constraint,
                                                                  bias_constraint="non_neg")])
        model.set_weights([W, np.full((4,), -0.1, "float32")])
        model.compile(getattr(api.optimizers, optimizer)(0.1), "mse")
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return model.get_weights()

    ours = build(kgraph, constraints.MaxNorm(1.0))
    theirs = build(keras, keras.constraints.MaxNorm(1.0))
    for a, e in zip(ours, theirs):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)
    assert np.all(np.linalg.norm(ours[0], axis=0) <= 1.0 + 1e-6) and np.all(ours[1] >= 0)


def test_dense_config_carries_the_constraint_and_refuses_lora():
    layer = kgraph.layers.Dense(2, kernel_constraint="unit_norm")
    assert layer.get_config()["kernel_constraint"]["class_name"] == "UnitNorm"
    with pytest.raises(ValueError, match="lora_rank"):
        kgraph.layers.Dense(2, lora_rank=4)
    with pytest.raises(ValueError, match="Could not interpret constraint identifier: 'max_nrom'"):
        constraints.get("max_nrom")
