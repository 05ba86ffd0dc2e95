"""`kgraph.remat` and `kgraph.RematScope`: rematerialized layers and functions compute what they compute without
remat (losses, gradients, state updates), and the compiled train step checkpoints them (`jax.checkpoint` in its
jaxpr); against Keras 3 on the same weights; ONNX export inlines the regions."""

import functools

import jax
import jax.extend.core as jax_core
import keras
import numpy as np
import pytest

import kgraph
from kgraph.export import export_onnx
from kgraph.runtime.onnx import OnnxModel

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 8)).astype("float32")
Y = RNG.normal(size=(32, 1)).astype("float32")


def _primitives(jaxpr) -> set[str]:
    names = set()
    for eqn in jaxpr.eqns:
        names.add(eqn.primitive.name)
        for sub in jax_core.jaxprs_in_params(eqn.params):
            names |= _primitives(sub)
    return names


def _checkpoints(primitives: set[str]) -> bool:
    """Whether the primitives include `jax.checkpoint`'s (named "remat2" in JAX 0.10, "checkpoint" elsewhere)."""
    return any(name.startswith(("remat", "checkpoint")) for name in primitives)


def _train_step_primitives(model) -> set[str]:
    """The primitives of the jitted step fit runs for `model` on (X, Y)."""
    program = model._program(True, [X])
    trainable, frozen = model._partition()
    index = model._param_index(program, trainable, frozen)
    state = model._train_state(program, trainable, frozen, reset_metrics=True)
    return _primitives(jax.make_jaxpr(model._train_body(program, index))(state, ([X], [Y], [None])).jaxpr)


def _mlp(k, scope_args=None):
    """Dense → Dropout → BatchNormalization → Dense, the first three created in a RematScope when given."""
    inputs = k.Input((8,))
    with k.RematScope(**(scope_args or {"mode": None})):
        layers = [k.layers.Dense(16, activation="relu", name="hidden"), k.layers.Dropout(0.3, seed=3),
                  k.layers.BatchNormalization(name="bn")]
    x = inputs
    for layer in layers:
        x = layer(x)
    return k.Model(inputs, k.layers.Dense(1, name="head")(x))


def _fit_step(model, weights):
    model.set_weights(weights)
    model.compile(optimizer=kgraph.optimizers.SGD(0.1), loss="mse")
    kgraph.utils.set_random_seed(7)
    return model.train_on_batch(X, Y)


def _gradients(model) -> list:
    trainable = [v.value for v in model.trainable_variables]
    frozen = [v.value for v in model.non_trainable_variables]

    def loss(values):
        y_pred, _ = model.stateless_call(values, frozen, X, training=False)
        return ((y_pred - Y) ** 2).mean()

    return jax.grad(loss)(trainable)


def test_remat_scope_full_matches_the_plain_model_after_a_fit_step():
    plain, remat = _mlp(kgraph), _mlp(kgraph, {"mode": "full"})
    weights = plain.get_weights()
    remat.set_weights(weights)
    for g_remat, g_plain in zip(_gradients(remat), _gradients(plain)):
        np.testing.assert_allclose(np.asarray(g_remat), np.asarray(g_plain), atol=1e-6)
    assert abs(_fit_step(remat, weights) - _fit_step(plain, weights)) <= 1e-6
    for a, b in zip(remat.get_weights(), plain.get_weights()):  # BatchNorm's moving statistics included
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert remat._program(True, [X]).graph.op_counts().get("remat") == 3
    assert _checkpoints(_train_step_primitives(remat))
    assert not _checkpoints(_train_step_primitives(plain))


@pytest.mark.parametrize("scope_args, regions", [
    ({"mode": "list_of_layers", "layer_names": ["hidden"]}, 1),
    ({"mode": "activations"}, 1),  # the Dense's relu; Dropout and BatchNormalization have no activation
    ({"mode": "larger_than", "output_size_threshold": 15}, 3),
    ({"mode": "larger_than", "output_size_threshold": 16}, 0),
])
def test_remat_scope_modes_pick_their_layers(scope_args, regions):
    model = _mlp(kgraph, scope_args)
    assert model._program(True, [X]).graph.op_counts().get("remat", 0) == regions
    plain = _mlp(kgraph)
    assert abs(_fit_step(model, plain.get_weights()) - _fit_step(plain, plain.get_weights())) <= 1e-6


def _dense_stack(k):
    """Dense layers in a full RematScope (Keras 3.15 cannot rematerialize layers taking `training`: its
    jax.checkpoint traces the flag)."""
    inputs = k.Input((8,))
    with k.RematScope(mode="full"):
        x = k.layers.Dense(16, activation="relu")(inputs)
        x = k.layers.Dense(16, activation="tanh")(x)
    return k.Model(inputs, k.layers.Dense(1)(x))


def _fit_step_matches_keras(build):
    """Builds the model of `build(lib)` in both, with Keras' weights; one SGD step gives the same loss and weights.
    Returns kgraph's model."""
    ours, theirs = build(kgraph), build(keras)
    ours.set_weights(theirs.get_weights())
    for model, optimizers in ((ours, kgraph.optimizers), (theirs, keras.optimizers)):
        model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    np.testing.assert_allclose(ours.train_on_batch(X, Y), theirs.train_on_batch(X, Y), rtol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    return ours


def test_remat_scope_matches_keras_after_a_fit_step():
    _fit_step_matches_keras(_dense_stack)


def _custom_remat_layer(k):
    class CustomRematLayer(k.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.remat_function = k.remat(self.intermediate_function)

        def intermediate_function(self, x):
            for _ in range(2):
                x = x + x * 0.1
            return k.ops.tanh(x)

        def call(self, inputs):
            return self.remat_function(inputs)

    inputs = k.Input((8,))
    x = CustomRematLayer()(k.layers.Dense(4, activation="relu")(inputs))
    return k.Model(inputs, k.layers.Dense(1)(x))


def test_remat_function_in_a_layer_matches_keras_after_a_fit_step():
    assert _checkpoints(_train_step_primitives(_fit_step_matches_keras(_custom_remat_layer)))


def test_remat_on_jax_tracers_checkpoints_and_keeps_the_gradient():
    def f(x, scale=2.0):
        return kgraph.ops.sum(kgraph.ops.sin(x * scale) ** 2)

    wrapped = kgraph.remat(f)
    np.testing.assert_allclose(jax.grad(wrapped)(X, scale=3.0), jax.grad(f)(X, scale=3.0), atol=1e-6)
    assert _checkpoints(_primitives(jax.make_jaxpr(jax.grad(wrapped))(X).jaxpr))
    np.testing.assert_allclose(wrapped(X), f(X), rtol=1e-6)


def test_onnx_export_inlines_remat_regions(tmp_path):
    model = _mlp(kgraph, {"mode": "full"})
    path = tmp_path / "remat.onnx"
    export_onnx(model, path)
    got = OnnxModel(path, providers=["CPUExecutionProvider"]).predict(X)
    np.testing.assert_allclose(np.asarray(got).reshape(-1), model.predict(X, verbose=0).reshape(-1), atol=1e-5)


def test_remat_scope_refuses_an_unknown_mode_and_nests():
    with pytest.raises(ValueError, match="Invalid mode 'some'"):
        kgraph.RematScope(mode="some")
    with kgraph.RematScope(mode="full"):
        with kgraph.RematScope(mode="list_of_layers", layer_names=["a"]):
            inner = kgraph.layers.Dense(2)
        outer = kgraph.layers.Dense(2)
    assert inner._remat_mode.mode == "list_of_layers" and outer._remat_mode.mode == "full"
    assert kgraph.layers.Dense(2)._remat_mode is None


def test_an_operation_created_in_a_remat_scope_is_rematerialized():
    class Wave(kgraph.Operation):
        def call(self, x):
            return kgraph.ops.sin(x) * kgraph.ops.cos(x)

    with kgraph.RematScope(mode="full"):
        wave = Wave()

    def loss(x):
        return kgraph.ops.sum(wave(x))

    np.testing.assert_allclose(jax.grad(loss)(X), np.cos(2 * X), atol=1e-5)
    assert _checkpoints(_primitives(jax.make_jaxpr(jax.grad(loss))(X).jaxpr))
    layer = kgraph.layers.Lambda(lambda x: wave(x))
    inputs = kgraph.Input((8,))
    model = kgraph.Model(inputs, layer(inputs))
    assert model._program(False, [X]).graph.op_counts().get("remat") == 1


def test_larger_than_on_jax_tracers_checkpoints_only_large_outputs():
    def scaled(x, training=False):
        return kgraph.ops.tanh(x) * (2.0 if training else 1.0)

    for threshold, checkpointed in ((X.size - 1, True), (X.size, False)):
        wrapped = functools.partial(kgraph.rematerialization._rematerialize, scaled, threshold=threshold)

        def loss(x):
            return kgraph.ops.sum(wrapped((x,), {"training": True}))

        np.testing.assert_allclose(jax.grad(loss)(X), 2.0 / np.cosh(X) ** 2, atol=1e-6)
        assert _checkpoints(_primitives(jax.make_jaxpr(jax.grad(loss))(X).jaxpr)) == checkpointed
