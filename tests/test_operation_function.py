"""`kgraph.Operation`, `kgraph.Function` and `kgraph.SymbolicScope` against Keras 3 on the same inputs."""

import keras
import numpy as np
import pytest

import kgraph
from kgraph.symbolic_scope import in_symbolic_scope

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 2, 3)).astype("float32")
Y = RNG.normal(size=(4, 2, 3)).astype("float32")


def _scaled_tanh(base, ops):
    class ScaledTanh(base):
        def __init__(self, factor=2.0, name=None):
            super().__init__(name=name)
            self.factor = factor

        def call(self, x, shift=0.0):
            return ops.tanh(x) * self.factor + shift

    return ScaledTanh


OurScaledTanh = _scaled_tanh(kgraph.Operation, kgraph.ops)
TheirScaledTanh = _scaled_tanh(keras.Operation, keras.ops)


def test_operation_runs_eagerly_as_keras():
    ours, theirs = OurScaledTanh(3.0), TheirScaledTanh(3.0)
    np.testing.assert_allclose(np.asarray(ours(X, shift=1.0)), np.asarray(theirs(X, shift=1.0)), rtol=1e-6)


def test_operation_config_round_trips_as_keras():
    ours, theirs = OurScaledTanh(3.0, name="st"), TheirScaledTanh(3.0, name="st")
    assert ours.get_config() == theirs.get_config() == {"name": "st", "factor": 3.0}
    again = OurScaledTanh.from_config(ours.get_config())
    assert (again.name, again.factor) == ("st", 3.0)


def test_operation_name_checks_and_defaults():
    assert OurScaledTanh().name.startswith("scaled_tanh")
    with pytest.raises(ValueError, match="cannot contain character `/`"):
        OurScaledTanh(name="a/b")


def test_operation_without_plain_config_values_must_override_get_config():
    class Holder(kgraph.Operation):
        def __init__(self, table):
            super().__init__()
            self.table = table

    with pytest.raises(NotImplementedError, match="get_config"):
        Holder(np.zeros(3)).get_config()


def test_operation_on_keras_tensors_joins_a_functional_model_that_matches_keras():
    def build(k, op):
        inputs = k.Input((2, 3))
        hidden = op(inputs, shift=0.5)
        assert tuple(hidden.shape) == (None, 2, 3)
        return k.Model(inputs, k.layers.Dense(4, name="head")(hidden))

    ours, theirs = build(kgraph, OurScaledTanh(2.0)), build(keras, TheirScaledTanh(2.0))
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    ours.compile(optimizer="sgd", loss="mse")
    theirs.compile(optimizer="sgd", loss="mse")
    target = RNG.normal(size=(4, 2, 4)).astype("float32")
    ours_loss = ours.train_on_batch(X, target)
    theirs_loss = theirs.train_on_batch(X, target)
    np.testing.assert_allclose(ours_loss, theirs_loss, rtol=1e-5)


def test_operation_compute_output_spec_infers_shape_and_dtype():
    spec = OurScaledTanh().compute_output_spec(kgraph.KerasTensor((None, 5), dtype="float16"))
    assert (spec.shape, spec.dtype) == ((None, 5), "float16")


def _sum_then_sigmoid(k):
    a, b = k.KerasTensor(shape=(None, 2, 3)), k.KerasTensor(shape=(None, 2, 3))
    return k.Function(inputs=[a, b], outputs={"sig": k.ops.sigmoid(a + b), "prod": a * b})


def test_function_on_arrays_matches_keras():
    ours, theirs = _sum_then_sigmoid(kgraph)([X, Y]), _sum_then_sigmoid(keras)([X, Y])
    assert sorted(ours) == sorted(theirs)
    for key in ours:
        np.testing.assert_allclose(np.asarray(ours[key]), np.asarray(theirs[key]), rtol=1e-6)


def test_function_lists_inputs_outputs_and_operations():
    fn, theirs = _sum_then_sigmoid(kgraph), _sum_then_sigmoid(keras)
    assert len(fn.inputs) == 2 and len(fn.outputs) == 2
    assert len(fn.operations) == len(theirs.operations) == 3


def test_function_of_layers_and_operations_traced_inside_a_model():
    inputs = kgraph.Input((2, 3))
    dense = kgraph.layers.Dense(3, name="inner")
    op = OurScaledTanh(0.5)
    fn = kgraph.Function(inputs, op(dense(inputs)))
    assert fn.operations == [dense, op]
    outer_in = kgraph.Input((2, 3))
    model = kgraph.Model(outer_in, fn(outer_in) + 1.0)
    expected = np.tanh(X @ dense.kernel.numpy() + dense.bias.numpy()) * 0.5 + 1.0
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(fn(X)), expected - 1.0, rtol=1e-5, atol=1e-6)


def test_function_refuses_disconnected_graphs_and_wrong_inputs():
    a, b = kgraph.KerasTensor(shape=(None, 3)), kgraph.KerasTensor(shape=(None, 3))
    with pytest.raises(ValueError, match="Graph disconnected"):
        kgraph.Function(a, a + b)
    with pytest.raises(ValueError, match="cannot be empty"):
        kgraph.Function([], a)
    fn = kgraph.Function([a, b], a + b)
    with pytest.raises(ValueError, match="expects 2 input"):
        fn([np.zeros((2, 3), "float32")])


def test_symbolic_scope_is_open_while_outputs_are_inferred():
    seen = []

    class Probe(kgraph.Operation):
        def call(self, x):
            seen.append(in_symbolic_scope())
            return x

    probe = Probe()
    probe(kgraph.Input((3,)))
    probe(np.zeros((1, 3), "float32"))
    assert seen == [True, False]
    with kgraph.SymbolicScope() as scope:
        assert in_symbolic_scope() and isinstance(scope, kgraph.SymbolicScope)
    assert not in_symbolic_scope()
