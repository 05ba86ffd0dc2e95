"""Keras 3's JAX-style custom train/test/predict steps, stateless_call and compute_loss, compiled by fit."""

import os

import jax
import keras
import numpy as np
import pytest

import kgraph


def make_custom_model_class(lib):
    class CustomModel(lib.Model):
        def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, x, y, training=False):
            y_pred, non_trainable_variables = self.stateless_call(trainable_variables, non_trainable_variables, x,
                                                                  training=training)
            loss = self.compute_loss(x, y, y_pred)
            return loss, (y_pred, non_trainable_variables)

        def train_step(self, state, data):
            trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
            x, y = data
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
                trainable_variables, non_trainable_variables, x, y, training=True)
            trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable_variables)
            new_metrics_vars, logs = [], {}
            for metric in self.metrics:
                this = metrics_variables[len(new_metrics_vars): len(new_metrics_vars) + len(metric.variables)]
                if metric.name == "loss":
                    this = metric.stateless_update_state(this, loss)
                else:
                    this = metric.stateless_update_state(this, y, y_pred)
                logs[metric.name] = metric.stateless_result(this)
                new_metrics_vars += this
            return logs, (trainable_variables, non_trainable_variables, optimizer_variables, new_metrics_vars)

    return CustomModel


def build(lib):
    inputs = lib.Input(shape=(32,))
    outputs = lib.layers.Dense(1)(inputs)
    return make_custom_model_class(lib)(inputs, outputs)


def test_custom_train_step_matches_keras():
    rng = np.random.default_rng(0)
    x, y = rng.random((1000, 32), dtype=np.float32), rng.random((1000, 1), dtype=np.float32)
    theirs, ours = build(keras), build(kgraph)
    assert type(ours).__name__ == "CustomModel" and isinstance(ours, kgraph.models.Functional)
    ours.set_weights(theirs.get_weights())
    for lib, model in ((keras, theirs), (kgraph, ours)):
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    h_theirs = theirs.fit(x, y, epochs=3, shuffle=False, verbose=0).history
    h_ours = ours.fit(x, y, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h_ours["loss"], h_theirs["loss"], rtol=1e-5)
    assert "mae" in h_ours
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_custom_test_and_predict_steps():
    class Doubling(kgraph.Model):
        def predict_step(self, state, data):
            outputs, frozen = self.stateless_call(state[0], state[1], data[0])
            return outputs * 2.0, frozen

        def test_step(self, state, data):
            trainable, frozen, metrics = state
            x, y = data
            y_pred, frozen = self.stateless_call(trainable, frozen, x)
            loss = self.compute_loss(x, y, y_pred)
            tracker = self.metrics[0]
            metrics = tracker.stateless_update_state(metrics[:2], loss)
            return {"loss": tracker.stateless_result(metrics)}, (trainable, frozen, metrics)

    inputs = kgraph.Input(shape=(3,))
    model = Doubling(inputs, kgraph.layers.Dense(2)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(1).random((10, 3), dtype=np.float32)
    plain = np.asarray(model(x))
    np.testing.assert_allclose(model.predict(x, verbose=0), 2 * plain, rtol=1e-6)
    loss = model.evaluate(x, np.zeros((10, 2), "float32"), verbose=0)
    assert loss == pytest.approx(float(np.mean(plain ** 2)), rel=1e-5)


def test_stateless_call_is_differentiable_and_pure():
    inputs = kgraph.Input(shape=(4,))
    model = kgraph.Model(inputs, kgraph.layers.Dense(3, activation="tanh")(inputs))
    x = np.random.default_rng(2).random((5, 4), dtype=np.float32)
    trainable = [v.value for v in model.trainable_variables]
    before = [np.array(w) for w in model.get_weights()]

    def f(values):
        out, _ = model.stateless_call(values, [], x)
        return out.sum()

    grads = jax.grad(f)(trainable)
    assert [g.shape for g in grads] == [(4, 3), (3,)]
    out, _ = model.stateless_call(trainable, [], x)
    np.testing.assert_allclose(np.asarray(out), np.asarray(model(x)), rtol=1e-6)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="expected 2 trainable"):
        model.stateless_call(trainable[:1], [], x)
