"""Bad arguments to the API: the exception names the argument, what was expected and what came."""

from __future__ import annotations

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
