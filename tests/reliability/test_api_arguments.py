"""Bad arguments to the API: the exception names the argument, what was expected and what came."""

from __future__ import annotations

import numpy as np
import pytest

import kgraph


@pytest.mark.parametrize("kwargs, shown", [
    ({"shape": (0,)}, r"\(None, 0\)"),
    ({"shape": (4, 0, 3)}, r"\(None, 4, 0, 3\)"),
    ({"shape": (-3,)}, r"\(None, -3\)"),
    ({"shape": (3,), "batch_size": 0}, r"\(0, 3\)"),
])
def test_input_refuses_dims_that_are_not_positive(kwargs, shown):
    with pytest.raises(ValueError, match=r"`shape` dims must be positive integers or None, got shape " + shown):
        kgraph.Input(**kwargs)


def _int_model():
    inputs = kgraph.Input((3,), dtype="int32")
    outputs = kgraph.layers.Dense(1)(kgraph.ops.cast(inputs, "float32"))
    model = kgraph.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
@pytest.mark.parametrize("values", [[8589934592, -8589934592, 5], [2**31, 0, 1]])
def test_int64_values_beyond_int32_are_refused_not_wrapped(method, values):
    x = np.array([values] * 4, dtype=np.int64)
    y = np.zeros((4, 1), "float32")
    model = _int_model()
    args = (x,) if method == "predict" else (x, y)
    with pytest.raises(ValueError, match=r"`x` holds int64 values from -?\d+ to \d+, outside the int32 range"):
        getattr(model, method)(*args, verbose=0)


def test_int64_values_within_int32_still_run():
    x = np.array([[1, -2, 2**31 - 1]] * 4, dtype=np.int64)
    assert _int_model().predict(x, verbose=0).shape == (4, 1)


@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch"])
def test_a_compiled_loss_without_targets_is_an_error_naming_the_output(method):
    inputs = kgraph.Input((3,))
    model = kgraph.Model(inputs, kgraph.layers.Dense(2, name="scores")(inputs))
    model.compile(optimizer="sgd", loss="mse")
    kwargs = {} if method == "train_on_batch" else {"verbose": 0}
    with pytest.raises(ValueError, match="compiled loss of output 'scores' needs targets, but no `y` was given"):
        getattr(model, method)(np.ones((8, 3), "float32"), **kwargs)
