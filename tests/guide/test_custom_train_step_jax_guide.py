"""The guide "Customizing what happens in fit() with JAX", run with Keras 3 (JAX backend) and with kgraph.

Each section's code is written once against `lib` (`keras` or `kgraph`), on small random data, and both
libraries start from the same weights: the losses, metrics and final weights must agree.
"""

import jax
import keras
import numpy as np
import pytest

import kgraph



def data(samples=256, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((samples, 32), dtype=np.float32), rng.random((samples, 1), dtype=np.float32)


def first_example(lib):
    """The guide's first CustomModel: `compute_loss_and_updates` over `stateless_compute_loss`."""

    class CustomModel(lib.Model):
        def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, metrics_variables, x, y,
                                     sample_weight, training=False):
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=training)
            loss, (trainable_variables, non_trainable_variables, metrics_variables) = self.stateless_compute_loss(
                trainable_variables, non_trainable_variables, metrics_variables, x=x, y=y, y_pred=y_pred,
                sample_weight=sample_weight, training=training)
            return loss, (y_pred, non_trainable_variables, metrics_variables)

        def train_step(self, state, data):
            trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
            x, y, sample_weight = lib.utils.unpack_x_y_sample_weight(data)
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable_variables, metrics_variables)), grads = grad_fn(
                trainable_variables, non_trainable_variables, metrics_variables, x, y, sample_weight, training=True)
            trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable_variables)
            new_metrics_vars = []
            logs = {}
            for metric in self.metrics:
                this_metric_vars = metrics_variables[len(new_metrics_vars): len(new_metrics_vars) + len(metric.variables)]
                if metric.name == "loss":
                    this_metric_vars = metric.stateless_update_state(this_metric_vars, loss, sample_weight=sample_weight)
                else:
                    this_metric_vars = metric.stateless_update_state(this_metric_vars, y, y_pred,
                                                                     sample_weight=sample_weight)
                logs[metric.name] = metric.stateless_result(this_metric_vars)
                new_metrics_vars += this_metric_vars
            return logs, (trainable_variables, non_trainable_variables, optimizer_variables, new_metrics_vars)

    inputs = lib.Input(shape=(32,))
    return CustomModel(inputs, lib.layers.Dense(1)(inputs))


def lower_level_example(lib):
    """The guide's "Going lower-level" CustomModel: its own loss function and metrics, compile() sets only the
    optimizer."""

    class CustomModel(lib.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = lib.metrics.Mean(name="loss")
            self.mae_metric = lib.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = lib.losses.MeanSquaredError()

        def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, x, y, sample_weight,
                                     training=False):
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=training)
            loss = self.loss_fn(y, y_pred, sample_weight=sample_weight)
            return loss, (y_pred, non_trainable_variables)

        def train_step(self, state, data):
            trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
            x, y, sample_weight = lib.utils.unpack_x_y_sample_weight(data)
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
                trainable_variables, non_trainable_variables, x, y, sample_weight, training=True)
            trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable_variables)
            loss_tracker_vars = metrics_variables[: len(self.loss_tracker.variables)]
            mae_metric_vars = metrics_variables[len(self.loss_tracker.variables):]
            loss_tracker_vars = self.loss_tracker.stateless_update_state(loss_tracker_vars, loss,
                                                                         sample_weight=sample_weight)
            mae_metric_vars = self.mae_metric.stateless_update_state(mae_metric_vars, y, y_pred,
                                                                     sample_weight=sample_weight)
            logs = {self.loss_tracker.name: self.loss_tracker.stateless_result(loss_tracker_vars),
                    self.mae_metric.name: self.mae_metric.stateless_result(mae_metric_vars)}
            new_metrics_vars = loss_tracker_vars + mae_metric_vars
            return logs, (trainable_variables, non_trainable_variables, optimizer_variables, new_metrics_vars)

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    inputs = lib.Input(shape=(32,))
    return CustomModel(inputs, lib.layers.Dense(1)(inputs))


def evaluation_step_example(lib):
    """The guide's "Providing your own evaluation step" CustomModel."""

    class CustomModel(lib.Model):
        def test_step(self, state, data):
            x, y, sample_weight = lib.utils.unpack_x_y_sample_weight(data)
            trainable_variables, non_trainable_variables, metrics_variables = state
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=False)
            loss, (trainable_variables, non_trainable_variables, metrics_variables) = self.stateless_compute_loss(
                trainable_variables, non_trainable_variables, metrics_variables, x=x, y=y, y_pred=y_pred,
                sample_weight=sample_weight, training=False)
            new_metrics_vars = []
            logs = {}
            for metric in self.metrics:
                this_metric_vars = metrics_variables[len(new_metrics_vars): len(new_metrics_vars) + len(metric.variables)]
                if metric.name == "loss":
                    this_metric_vars = metric.stateless_update_state(this_metric_vars, loss, sample_weight=sample_weight)
                else:
                    this_metric_vars = metric.stateless_update_state(this_metric_vars, y, y_pred,
                                                                     sample_weight=sample_weight)
                logs[metric.name] = metric.stateless_result(this_metric_vars)
                new_metrics_vars += this_metric_vars
            return logs, (trainable_variables, non_trainable_variables, new_metrics_vars)

    inputs = lib.Input(shape=(32,))
    return CustomModel(inputs, lib.layers.Dense(1)(inputs))


def twins(make):
    """The model `make` builds, in Keras and in kgraph, with Keras' initial weights copied into kgraph's."""
    theirs, ours = make(keras), make(kgraph)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def assert_same_weights(theirs, ours):
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_first_example_fits_as_keras():
    x, y = data()
    theirs, ours = twins(first_example)
    for model in (theirs, ours):
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    h_theirs = theirs.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    h_ours = ours.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h_ours["loss"], h_theirs["loss"], rtol=1e-5)
    np.testing.assert_allclose(h_ours["mae"], h_theirs["mae"], rtol=1e-5)
    assert_same_weights(theirs, ours)


def test_lower_level_example_fits_as_keras():
    x, y = data(seed=1)
    theirs, ours = twins(lower_level_example)
    for model in (theirs, ours):
        model.compile(optimizer="adam")
    h_theirs = theirs.fit(x, y, batch_size=32, epochs=5, shuffle=False, verbose=0).history
    h_ours = ours.fit(x, y, batch_size=32, epochs=5, shuffle=False, verbose=0).history
    assert sorted(h_ours) == sorted(h_theirs) == ["loss", "mae"]
    for key in h_theirs:
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=1e-5)
    np.testing.assert_allclose(ours.loss_tracker.result(), theirs.loss_tracker.result(), rtol=1e-5)
    assert_same_weights(theirs, ours)


def test_custom_test_step_evaluates_as_keras():
    x, y = data(seed=2)
    theirs, ours = twins(evaluation_step_example)
    for model in (theirs, ours):
        model.compile(loss="mse", metrics=["mae"])
    logs_theirs = theirs.evaluate(x, y, batch_size=32, return_dict=True, verbose=0)
    logs_ours = ours.evaluate(x, y, batch_size=32, return_dict=True, verbose=0)
    assert sorted(logs_ours) == sorted(logs_theirs) == ["loss", "mae"]
    for key in logs_theirs:
        assert logs_ours[key] == pytest.approx(logs_theirs[key], rel=1e-5)


def gan(lib):
    """A GAN-style override: one step trains the discriminator, then the generator, each on its own gradients,
    with loss trackers of its own. The latent vectors come in as the targets, so no framework RNG is involved."""

    class GAN(lib.Model):
        def __init__(self, discriminator, generator):
            super().__init__()
            self.discriminator = discriminator
            self.generator = generator
            self.loss_fn = lib.losses.BinaryCrossentropy(from_logits=True)
            self.d_loss_tracker = lib.metrics.Mean(name="d_loss")
            self.g_loss_tracker = lib.metrics.Mean(name="g_loss")

        def call(self, x):
            return self.discriminator(x)

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def train_step(self, state, data):
            trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
            real, latent = data
            n_disc = len(self.discriminator.trainable_variables)
            ones, zeros = jax.numpy.ones((real.shape[0], 1)), jax.numpy.zeros((real.shape[0], 1))

            def d_loss_fn(d_vars, g_vars):
                fake, _ = self.generator.stateless_call(g_vars, [], latent)
                real_logits, _ = self.discriminator.stateless_call(d_vars, [], real)
                fake_logits, _ = self.discriminator.stateless_call(d_vars, [], fake)
                return self.loss_fn(ones, real_logits) + self.loss_fn(zeros, fake_logits)

            d_loss, d_grads = jax.value_and_grad(d_loss_fn)(trainable_variables[:n_disc],
                                                            trainable_variables[n_disc:])
            frozen = [jax.numpy.zeros_like(v) for v in trainable_variables[n_disc:]]
            trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, list(d_grads) + frozen, trainable_variables)

            def g_loss_fn(g_vars):
                fake, _ = self.generator.stateless_call(g_vars, [], latent)
                logits, _ = self.discriminator.stateless_call(trainable_variables[:n_disc], [], fake)
                return self.loss_fn(ones, logits)

            g_loss, g_grads = jax.value_and_grad(g_loss_fn)(trainable_variables[n_disc:])
            frozen = [jax.numpy.zeros_like(v) for v in trainable_variables[:n_disc]]
            trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, frozen + list(g_grads), trainable_variables)
            n_d = len(self.d_loss_tracker.variables)
            d_vars = self.d_loss_tracker.stateless_update_state(metrics_variables[:n_d], d_loss)
            g_vars = self.g_loss_tracker.stateless_update_state(metrics_variables[n_d:], g_loss)
            logs = {"d_loss": self.d_loss_tracker.stateless_result(d_vars),
                    "g_loss": self.g_loss_tracker.stateless_result(g_vars)}
            return logs, (trainable_variables, non_trainable_variables, optimizer_variables, d_vars + g_vars)

    d_in = lib.Input(shape=(6,))
    discriminator = lib.Model(d_in, lib.layers.Dense(1)(lib.layers.Dense(8, activation="relu")(d_in)))
    g_in = lib.Input(shape=(3,))
    generator = lib.Model(g_in, lib.layers.Dense(6, activation="tanh")(lib.layers.Dense(8, activation="relu")(g_in)))
    return GAN(discriminator, generator)


def test_gan_style_override_fits_as_keras():
    rng = np.random.default_rng(3)
    real, latent = rng.random((128, 6), dtype=np.float32), rng.normal(size=(128, 3)).astype("float32")
    theirs, ours = twins(gan)
    for model in (theirs, ours):
        model.compile(optimizer="adam")
    h_theirs = theirs.fit(real, latent, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    h_ours = ours.fit(real, latent, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    assert sorted(h_ours) == sorted(h_theirs) == ["d_loss", "g_loss"]
    for key in h_theirs:
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=1e-5)
    assert_same_weights(theirs, ours)
