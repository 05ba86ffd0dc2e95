"""The parity harness itself: it passes on a correct layer and fails on a wrong one."""

import numpy as np
import pytest

import kgraph
from tests.layers.parity import check_layer

X = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")


def test_harness_accepts_dense():
    check_layer(lambda lib: lib.layers.Dense(3, activation="tanh"), [X])


def test_harness_rejects_a_wrong_activation():
    class Wrong(kgraph.layers.Dense):
        def call(self, inputs):
            return super().call(inputs) * 1.01

    def factory(lib):
        return Wrong(3) if lib is kgraph else lib.layers.Dense(3)

    with pytest.raises(AssertionError, match="inference"):
        check_layer(factory, [X])
