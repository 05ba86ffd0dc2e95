"""Layer constructors, shapes at call time, compile identifiers and kgraph.ops on bad input: an error naming the
argument (or op), what was expected and what came, never a bare JAX message."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kgraph
from kgraph import layers, ops

CONSTRUCTORS = {
    "Dense units=0": (lambda: layers.Dense(0), r"invalid value for `units`, expected a positive integer\. Received: units=0"),
    "Dense units=2.5": (lambda: layers.Dense(2.5), r"`units`, expected a positive integer\. Received: units=2\.5"),
    "Dense activation": (lambda: layers.Dense(2, activation="relux"),
                         r"Could not interpret activation function identifier: 'relux'\. Expected one of: .*relu"),
    "Conv2D filters=0": (lambda: layers.Conv2D(0, 3), r"`filters` must be a positive int\. Received: filters=0"),
    "Conv2D kernel_size=(3,)": (lambda: layers.Conv2D(4, (3,)),
                                r"`kernel_size` argument must be a positive int or a tuple of 2 positive ints\. "
                                r"Received: kernel_size=\(3,\)"),
    "Conv2D strides=0": (lambda: layers.Conv2D(4, 3, strides=0), r"`strides` argument must be a positive int"),
    "Conv2D padding": (lambda: layers.Conv2D(4, 3, padding="sometimes"),
                       r"`padding` argument must be one of \('valid', 'same'\)\. Received: padding='sometimes'"),
    "Dropout rate=1.5": (lambda: layers.Dropout(1.5), r"argument `rate`\. Expected a float value between 0 and 1\. "
                                                      r"Received: rate=1\.5"),
    "Embedding input_dim=0": (lambda: layers.Embedding(0, 4), r"`input_dim` must be a positive integer, got input_dim=0"),
    "LSTM units=0": (lambda: layers.LSTM(0), r"argument `units`, expected a positive integer, got 0"),
    "Input shape=(0,)": (lambda: kgraph.Input((0,)), r"`shape` dims must be positive integers or None"),
}


@pytest.mark.parametrize("case", sorted(CONSTRUCTORS))
def test_layer_constructor_refuses_a_bad_argument(case):
    build, message = CONSTRUCTORS[case]
    with pytest.raises(ValueError, match=message):
        build()


CALLS = {
    "Conv2D on a vector": (lambda: layers.Conv2D(4, 3)(kgraph.Input((5,))),
                           r"Conv2D\) expects inputs of rank 4 \(batch, 2 spatial dims, channels\), got input shape \(None, 5\)"),
    "Concatenate shapes": (lambda: layers.Concatenate()([kgraph.Input((3, 4)), kgraph.Input((5, 6))]),
                           r"needs inputs with matching shapes except on axis -1, got shapes"),
    "Add shapes": (lambda: layers.Add()([kgraph.Input((3,)), kgraph.Input((5,))]),
                   r"Add\) needs inputs of compatible shapes, got shapes \[\(None, 3\), \(None, 5\)\]"),
    "Reshape size": (lambda: layers.Reshape((7,))(kgraph.Input((4,))),
                     r"cannot reshape samples of shape \(4,\) \(4 elements\) into target_shape \(7,\)"),
    "Dense unknown last dim": (lambda: layers.Dense(2)(kgraph.Input(())),
                               r"Dense\) needs a known last input dim, got input shape \(None,\)"),
    "symbolic ops.add": (lambda: ops.add(kgraph.Input((3,)), kgraph.Input((5,))),
                         r"cannot be broadcast together \(dim 1: 3 vs 5\)"),
}


@pytest.mark.parametrize("case", sorted(CALLS))
def test_shapes_at_call_time_are_named(case):
    call, message = CALLS[case]
    with pytest.raises(ValueError, match=message):
        call()


def _compiled(**kwargs):
    inputs = kgraph.Input((4,))
    model = kgraph.Model(inputs, layers.Dense(3, name="scores")(inputs))
    model.compile(**{"optimizer": "sgd", "loss": "mse", **kwargs})
    return model


COMPILE = {
    "optimizer name": ({"optimizer": "adamm"}, ValueError,
                       r"Could not interpret optimizer identifier: 'adamm'\. Expected one of: .*adam"),
    "optimizer type": ({"optimizer": 3}, TypeError, r"Could not interpret optimizer identifier: 3 of type int"),
    "loss name": ({"loss": "msee"}, ValueError, r"Could not interpret loss identifier: 'msee'"),
    "metric name": ({"metrics": ["accuraccy"]}, ValueError, r"Could not interpret metric identifier: 'accuraccy'"),
    "loss for unknown output": ({"loss": {"nope": "mse"}}, ValueError,
                                r"`loss` names unknown output\(s\) \['nope'\]; the model's outputs are \['scores'\]"),
}


@pytest.mark.parametrize("case", sorted(COMPILE))
def test_compile_identifiers_are_named(case):
    kwargs, kind, message = COMPILE[case]
    with pytest.raises(kind, match=message):
        _compiled(**kwargs).fit(np.ones((4, 4), "float32"), np.ones((4, 3), "float32"), verbose=0)


OPS = {
    "matmul contraction": (lambda: ops.matmul(np.ones((2, 3)), np.ones((4, 5))), TypeError,
                           r"op 'matmul' cannot take inputs \(2, 3\) float32, \(4, 5\) float32: "),
    "reshape size": (lambda: ops.reshape(np.ones((2, 3)), (4,)), TypeError,
                     r"op 'reshape' cannot take inputs \(2, 3\) float32 with \{'shape': \(4,\)\}"),
    "concatenate ranks": (lambda: ops.concatenate([np.ones((2, 3)), np.ones((2,))]), TypeError,
                          r"op 'concatenate' cannot take inputs \(2, 3\) float32, \(2,\) float32"),
    "sum axis": (lambda: ops.sum(np.ones((2, 3)), axis=5), ValueError, r"axis 5 is out of bounds for array of dimension 2"),
    "conv rank": (lambda: ops.conv(np.ones((2, 3)), np.ones((3, 3, 1, 1))), ValueError,
                  r"conv needs inputs of rank >= 3 \(batch, spatial dims, channels\), got shape \(2, 3\)"),
    "cast dtype": (lambda: ops.cast(np.ones(2), "float13"), TypeError, r"Unsupported dtype 'float13'\. Expected one of"),
    "zeros shape": (lambda: ops.zeros((-1, 2)), ValueError, r"zeros: shape must be non-negative Python ints or dims from ops.shape, got \(-1, 2\)"),
    "split sections": (lambda: ops.split(np.ones((5,)), 2), ValueError,
                       r"split: axis 0 of shape \(5,\) does not divide into 2 equal sections"),
    "strings": (lambda: ops.add(np.array(["a"]), np.array(["b"])), TypeError,
                r"kgraph\.ops takes numeric or bool tensors, got a string value of dtype <U1"),
}


@pytest.mark.parametrize("case", sorted(OPS))
def test_ops_on_bad_input_name_the_op_or_argument(case):
    call, kind, message = OPS[case]
    with pytest.raises(kind, match=message):
        call()


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 6), st.integers(2, 6), st.integers(1, 3))
def test_eager_binary_ops_on_unbroadcastable_shapes_name_the_op(a, b, rows):
    if a == b:
        a += 1
    with pytest.raises(ValueError, match=rf"op '(add|multiply)' cannot take inputs \({rows}, {a}\) float32, \({b},\)"):
        ops.add(np.ones((rows, a), "float32"), np.ones((b,), "float32"))
    with pytest.raises(ValueError, match=r"op 'multiply' cannot take inputs"):
        ops.multiply(np.ones((rows, a), "float32"), np.ones((b,), "float32"))
