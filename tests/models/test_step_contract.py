"""Keras 3's JAX trainer contract: the public step methods fit runs, the loss and metric hooks, the optimizer's
`build`/`stateless_apply`, and Variables as JAX array-likes — each against Keras 3 (JAX backend) on the same
weights, and kgraph's fused steps against its step methods."""

import inspect

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import kgraph

CONTRACT = ("train_step", "test_step", "predict_step", "compute_loss", "stateless_compute_loss",
            "compute_loss_and_updates", "compute_metrics", "get_metrics_result", "make_train_function",
            "make_test_function", "make_predict_function", "stateless_call")


@pytest.mark.parametrize("name", CONTRACT)
def test_step_methods_have_keras_signatures(name):
    assert inspect.signature(getattr(kgraph.Model, name)).parameters.keys() == \
        inspect.signature(getattr(keras.Model, name)).parameters.keys()


def mlp(lib, override=None):
    inputs = lib.Input(shape=(6,))
    h = lib.layers.Dense(8, activation="relu")(inputs)
    outputs = lib.layers.Dense(2)(h)
    cls = override(lib) if override else lib.Model
    return cls(inputs, outputs)


def data(seed=0, samples=96):
    rng = np.random.default_rng(seed)
    return rng.random((samples, 6), dtype=np.float32), rng.random((samples, 2), dtype=np.float32)


def twins(build, **compile_args):
    theirs, ours = build(keras), build(kgraph)
    ours.set_weights(theirs.get_weights())
    for model in (theirs, ours):
        model.compile(**compile_args)
    return theirs, ours


def fit_both(theirs, ours, x, y, epochs=2):
    kwargs = dict(batch_size=16, epochs=epochs, shuffle=False, verbose=0)
    return theirs.fit(x, y, **kwargs).history, ours.fit(x, y, **kwargs).history


def assert_same(h_ours, h_theirs, ours, theirs):
    assert sorted(h_ours) == sorted(h_theirs)
    for key in h_theirs:
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=1e-5, err_msg=key)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def doubling_inputs(lib):
    class DoublingInputs(lib.Model):
        def train_step(self, state, data):
            x, y, sample_weight = lib.utils.unpack_x_y_sample_weight(data)
            return super().train_step(state, (x * 2.0, y, sample_weight))

    return DoublingInputs


def test_super_train_step_in_an_override_matches_keras():
    x, y = data()
    theirs, ours = twins(lambda lib: mlp(lib, doubling_inputs), optimizer="adam", loss="mse", metrics=["mae"])
    h_theirs, h_ours = fit_both(theirs, ours, x, y)
    assert_same(h_ours, h_theirs, ours, theirs)


def test_super_train_step_computes_what_the_fused_step_does():
    """An override that only calls super() runs Keras' step methods; a plain model runs kgraph's fused step.
    With BatchNormalization, Dropout, validation and prediction both must give the same numbers."""

    def passthrough(lib):
        class Passthrough(lib.Model):
            def train_step(self, state, data):
                return super().train_step(state, data)

            def test_step(self, state, data):
                return super().test_step(state, data)

            def predict_step(self, state, data):
                return super().predict_step(state, data)

        return Passthrough

    def build(override):
        inputs = kgraph.Input(shape=(6,))
        h = kgraph.layers.Dense(8, activation="relu")(inputs)
        h = kgraph.layers.BatchNormalization()(h)
        h = kgraph.layers.Dropout(0.3, seed=3)(h)
        cls = override(kgraph) if override else kgraph.Model
        model = cls(inputs, kgraph.layers.Dense(2)(h))
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        return model

    x, y = data(1)
    fused, stepped = build(None), build(passthrough)
    stepped.set_weights(fused.get_weights())
    histories = []
    for model in (fused, stepped):
        kgraph.utils.set_random_seed(7)
        histories.append(model.fit(x, y, batch_size=16, epochs=2, shuffle=False, validation_data=(x[:32], y[:32]),
                                   verbose=0).history)
    assert sorted(histories[0]) == sorted(histories[1]) == ["loss", "mae", "val_loss", "val_mae"]
    for key in histories[0]:
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-6, err_msg=key)
    for a, b in zip(stepped.get_weights(), fused.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(stepped.predict(x, verbose=0), fused.predict(x, verbose=0), rtol=1e-6)


def own_compute_loss(lib):
    """Keras' `compute_loss` docstring example: a loss and a tracker of the model's own, no train_step."""

    class MyModel(lib.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = lib.metrics.Mean(name="loss")

        def compute_loss(self, x, y, y_pred, sample_weight, training=True):
            loss = lib.ops.mean((y_pred - y) ** 2)
            loss += lib.ops.sum(self.losses)
            self.loss_tracker.update_state(loss)
            return loss

        def reset_metrics(self):
            self.loss_tracker.reset_state()

        @property
        def metrics(self):
            return [self.loss_tracker]

    return MyModel


def test_compute_loss_override_matches_keras():
    x, y = data(2)
    theirs, ours = twins(lambda lib: mlp(lib, own_compute_loss), optimizer="sgd", loss="mae")  # the override ignores it
    h_theirs, h_ours = fit_both(theirs, ours, x, y)
    assert_same(h_ours, h_theirs, ours, theirs)
    np.testing.assert_allclose(ours.loss_tracker.result(), theirs.loss_tracker.result(), rtol=1e-5)


def extra_metric(lib):
    """Keras' `compute_metrics` docstring example: super() updates the compiled metrics, then one of its own."""

    class MyModel(lib.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.custom_metric = lib.metrics.MeanSquaredError(name="custom_metric")

        def compute_metrics(self, x, y, y_pred, sample_weight):
            metric_results = super().compute_metrics(x, y, y_pred, sample_weight)
            self.custom_metric.update_state(y, y_pred, sample_weight)
            metric_results["custom_metric"] = self.custom_metric.result()
            return metric_results

    return MyModel


def test_compute_metrics_override_matches_keras():
    x, y = data(3)
    theirs, ours = twins(lambda lib: mlp(lib, extra_metric), optimizer="rmsprop", loss="mae", metrics=["mse"])
    h_theirs, h_ours = fit_both(theirs, ours, x, y)
    assert sorted(h_ours) == ["custom_metric", "loss", "mse"]
    assert_same(h_ours, h_theirs, ours, theirs)
    logs_theirs = theirs.evaluate(x, y, batch_size=32, return_dict=True, verbose=0)
    logs_ours = ours.evaluate(x, y, batch_size=32, return_dict=True, verbose=0)
    assert logs_ours == pytest.approx(logs_theirs, rel=1e-5)


def test_train_function_runs_train_step_as_keras():
    """`make_train_function` gives Keras' `train_function(state, iterator) -> (logs, state)`."""
    x, y = data(4, samples=32)
    results = {}
    for lib, model in zip((keras, kgraph), twins(mlp, optimizer="adam", loss="mse", metrics=["mae"], steps_per_execution=2)):
        model.evaluate(x, y, verbose=0)
        model.optimizer.build(model.trainable_variables)
        model.make_train_function()
        state = tuple([getattr(v, "value", v) for v in part] for part in (
            model.trainable_variables, model.non_trainable_variables, model.optimizer.variables,
            model.metrics_variables))
        logs, state = model.train_function(state, iter([(x[:16], y[:16]), (x[16:], y[16:])]))
        flat = {}
        for key, value in logs.items():
            flat.update(value if isinstance(value, dict) else {key: value})
        results[lib] = flat, state[0]
    assert sorted(results[kgraph][0]) == ["loss", "mae"]
    assert {k: float(v) for k, v in results[kgraph][0].items()} == \
        pytest.approx({k: float(v) for k, v in results[keras][0].items()}, rel=1e-5)
    for a, b in zip(results[kgraph][1], results[keras][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_train_on_batch_runs_an_overridden_train_step():
    x, y = data(5, samples=16)
    theirs, ours = twins(lambda lib: mlp(lib, doubling_inputs), optimizer="adam", loss="mse")
    for _ in range(2):
        loss_theirs = theirs.train_on_batch(x, y)
        loss_ours = ours.train_on_batch(x, y)
    assert loss_ours == pytest.approx(float(loss_theirs), rel=1e-5)


@pytest.mark.parametrize("make", [
    lambda lib: lib.optimizers.Adam(learning_rate=0.05),
    lambda lib: lib.optimizers.SGD(learning_rate=0.1, momentum=0.9),
    lambda lib: lib.optimizers.RMSprop(learning_rate=lib.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5)),
], ids=["adam", "sgd_momentum", "rmsprop_schedule"])
def test_build_and_stateless_apply_match_keras(make):
    """`optimizer.build(vars)` then `stateless_apply(optimizer.variables, grads, values)`, twice, under jit."""
    models = twins(mlp, optimizer="sgd")
    results = []
    for lib, model in zip((keras, kgraph), models):
        optimizer = make(lib)
        optimizer.build(model.trainable_variables)
        grads = [jnp.full(v.shape, 0.5 + i, "float32") for i, v in enumerate(model.trainable_variables)]
        values = [v.value for v in model.trainable_variables]
        optimizer_values = [v.value if hasattr(v, "value") else v for v in optimizer.variables]
        apply = jax.jit(optimizer.stateless_apply)
        for _ in range(2):
            values, optimizer_values = apply(optimizer_values, grads, values)
        results.append((values, optimizer_values))
    (theirs, theirs_opt), (ours, ours_opt) = results
    assert len(ours_opt) == len(theirs_opt)
    for a, b in zip(ours + ours_opt, theirs + theirs_opt):
        np.testing.assert_allclose(np.asarray(a, "float64"), np.asarray(b, "float64"), rtol=1e-6, atol=1e-7)


def test_stateless_apply_refuses_a_wrong_variable_list():
    model = mlp(kgraph)
    optimizer = kgraph.optimizers.Adam()
    optimizer.build(model.trainable_variables)
    grads = [jnp.zeros(v.shape) for v in model.trainable_variables]
    with pytest.raises(ValueError, match="optimizer_variables"):
        optimizer.stateless_apply(optimizer.variables[:-1], grads, model.trainable_variables)


def test_variables_are_jax_array_likes():
    v = kgraph.Variable(np.arange(6, dtype="float32").reshape(2, 3), name="v")
    np.testing.assert_array_equal(jnp.add(v, 1), np.arange(6).reshape(2, 3) + 1)
    np.testing.assert_array_equal(jax.jit(lambda a: a[0] * 2)([v]), np.arange(6).reshape(2, 3) * 2)
    np.testing.assert_array_equal(jax.tree.map(jnp.zeros_like, [v])[0], np.zeros((2, 3)))
    np.testing.assert_array_equal(np.asarray(v), jnp.asarray(v))
    assert (v.shape, v.dtype, v.ndim) == ((2, 3), "float32", 2)
    assert jnp.zeros_like(v).dtype == jnp.ones_like(v).dtype == np.result_type(v) == "float32"
    np.testing.assert_array_equal(jnp.ones_like(v), np.ones((2, 3)))
    half = kgraph.Variable(np.zeros(3), dtype="bfloat16", name="half")
    assert half.dtype == "bfloat16" and str(half.dtype) == "bfloat16" and jnp.zeros_like(half).dtype == "bfloat16"
    grads = jax.grad(lambda ws: jnp.sum(ws[0] ** 2))([v])
    np.testing.assert_array_equal(grads[0], 2 * np.arange(6).reshape(2, 3))


def _predict_primitives(model, x) -> set:
    program = model._program(False, [x])
    trainable, frozen = model._partition_for_inference()
    body = model._predict_body(program, model._param_index(program, trainable, frozen))
    params = {"trainable": [v.value for v in trainable], "non_trainable": [v.value for v in frozen],
              "carry": {"states": {}, "rng": kgraph.random.SeedGenerator(0).next()}, "seeds": program.fn.seeds}
    jaxpr = jax.make_jaxpr(body)(params, ([jnp.asarray(x)], None, None))
    return {eqn.primitive.name for eqn in jaxpr.jaxpr.eqns}


def test_a_prediction_step_splits_its_key_only_when_its_graph_draws():
    x = np.zeros((4, 8), "float32")
    inputs = kgraph.Input((8,))
    plain = kgraph.Model(inputs, kgraph.layers.Dense(3)(kgraph.layers.Dropout(0.5)(inputs)))
    assert "random_split" not in _predict_primitives(plain, x)
    drawing = kgraph.Model(inputs, kgraph.layers.Dense(3)(kgraph.layers.Dropout(0.5)(inputs, training=True)))
    assert "random_split" in _predict_primitives(drawing, x)
