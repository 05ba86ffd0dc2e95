"""The guide "Writing a training loop from scratch in JAX", run with Keras 3 (JAX backend) and with kgraph.

The guide's loops are pure JAX over `model.stateless_call`, `optimizer.stateless_apply` and the metrics'
`stateless_update_state`/`stateless_result`. Each section is written once against `lib`, on small random
data batched with NumPy (the guide batches MNIST with tf.data), from the same initial weights.

The guide hands `model.trainable_variables` and `optimizer.variables` to a jitted step. kgraph takes them
as written; Keras' own Variables are no longer accepted by `jax.jit` with JAX 0.10, so for Keras the same
lists go in as their values (`initial_state`). The guide's activity-regularization layer sums with
`jax.numpy.sum`; kgraph traces layers into its graph through `kgraph.ops`, so that layer uses `ops.sum`.
"""

import jax
import keras
import numpy as np

import kgraph


def get_model(lib):
    inputs = lib.Input(shape=(20,), name="digits")
    x1 = lib.layers.Dense(16, activation="relu")(inputs)
    x2 = lib.layers.Dense(16, activation="relu")(x1)
    outputs = lib.layers.Dense(10, name="predictions")(x2)
    return lib.Model(inputs=inputs, outputs=outputs)


def batches(seed, samples=160, batch_size=32):
    rng = np.random.default_rng(seed)
    x = rng.random((samples, 20), dtype=np.float32)
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, samples)]
    return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, samples, batch_size)]


def initial_state(lib, *parts):
    """The guide's state tuple: kgraph takes the Variables themselves, Keras their values (see the docstring)."""
    if lib is kgraph:
        return tuple(parts)
    return tuple([getattr(v, "value", v) for v in part] for part in parts)


def twin_models(make):
    theirs = make(keras)
    ours = make(kgraph)
    ours.set_weights(theirs.get_weights())
    return {keras: theirs, kgraph: ours}


def first_end_to_end_example(lib, model, train_data):
    loss_fn = lib.losses.CategoricalCrossentropy(from_logits=True)
    optimizer = lib.optimizers.Adam(learning_rate=1e-3)

    def compute_loss_and_updates(trainable_variables, non_trainable_variables, x, y):
        y_pred, non_trainable_variables = model.stateless_call(trainable_variables, non_trainable_variables, x)
        loss = loss_fn(y, y_pred)
        return loss, non_trainable_variables

    grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)

    @jax.jit
    def train_step(state, data):
        trainable_variables, non_trainable_variables, optimizer_variables = state
        x, y = data
        (loss, non_trainable_variables), grads = grad_fn(trainable_variables, non_trainable_variables, x, y)
        trainable_variables, optimizer_variables = optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables)
        return loss, (trainable_variables, non_trainable_variables, optimizer_variables)

    optimizer.build(model.trainable_variables)
    state = initial_state(lib, model.trainable_variables, model.non_trainable_variables, optimizer.variables)
    losses = []
    for epoch in range(2):
        for step, data in enumerate(train_data):
            loss, state = train_step(state, data)
            losses.append(float(loss))
    trainable_variables, non_trainable_variables, optimizer_variables = state
    for variable, value in zip(model.trainable_variables, trainable_variables):
        variable.assign(value)
    for variable, value in zip(model.non_trainable_variables, non_trainable_variables):
        variable.assign(value)
    return losses


def test_end_to_end_loop_matches_keras():
    models = twin_models(get_model)
    train_data = batches(0)
    losses = {lib: first_end_to_end_example(lib, model, train_data) for lib, model in models.items()}
    assert len(losses[kgraph]) == 10
    np.testing.assert_allclose(losses[kgraph], losses[keras], rtol=1e-5)
    for a, b in zip(models[kgraph].get_weights(), models[keras].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def metrics_example(lib, model, train_data, val_data):
    """The guide's "Low-level handling of metrics": a train step updating CategoricalAccuracy, then an eval step."""
    optimizer = lib.optimizers.Adam(learning_rate=1e-3)
    loss_fn = lib.losses.CategoricalCrossentropy(from_logits=True)
    train_acc_metric = lib.metrics.CategoricalAccuracy()
    val_acc_metric = lib.metrics.CategoricalAccuracy()

    def compute_loss_and_updates(trainable_variables, non_trainable_variables, metric_variables, x, y):
        y_pred, non_trainable_variables = model.stateless_call(trainable_variables, non_trainable_variables, x)
        loss = loss_fn(y, y_pred)
        metric_variables = train_acc_metric.stateless_update_state(metric_variables, y, y_pred)
        return loss, (non_trainable_variables, metric_variables)

    grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)

    @jax.jit
    def train_step(state, data):
        trainable_variables, non_trainable_variables, optimizer_variables, metric_variables = state
        x, y = data
        (loss, (non_trainable_variables, metric_variables)), grads = grad_fn(
            trainable_variables, non_trainable_variables, metric_variables, x, y)
        trainable_variables, optimizer_variables = optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables)
        return loss, (trainable_variables, non_trainable_variables, optimizer_variables, metric_variables)

    @jax.jit
    def eval_step(state, data):
        trainable_variables, non_trainable_variables, metric_variables = state
        x, y = data
        y_pred, non_trainable_variables = model.stateless_call(trainable_variables, non_trainable_variables, x)
        loss = loss_fn(y, y_pred)
        metric_variables = val_acc_metric.stateless_update_state(metric_variables, y, y_pred)
        return loss, (trainable_variables, non_trainable_variables, metric_variables)

    optimizer.build(model.trainable_variables)
    state = initial_state(lib, model.trainable_variables, model.non_trainable_variables, optimizer.variables,
                          train_acc_metric.variables)
    record = {"loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    for step, data in enumerate(train_data):
        loss, state = train_step(state, data)
        record["loss"].append(float(loss))
        _, _, _, metric_variables = state
        for variable, value in zip(train_acc_metric.variables, metric_variables):
            variable.assign(value)
        record["train_acc"].append(float(train_acc_metric.result()))
    trainable_variables, non_trainable_variables, optimizer_variables, metric_variables = state
    state = trainable_variables, non_trainable_variables, initial_state(lib, val_acc_metric.variables)[0]
    for step, data in enumerate(val_data):
        loss, state = eval_step(state, data)
        record["val_loss"].append(float(loss))
        _, _, metric_variables = state
        for variable, value in zip(val_acc_metric.variables, metric_variables):
            variable.assign(value)
        record["val_acc"].append(float(val_acc_metric.result()))
    return record


def test_metrics_loop_matches_keras():
    models = twin_models(get_model)
    train_data, val_data = batches(1, samples=320), batches(2, samples=96)
    records = {lib: metrics_example(lib, model, train_data, val_data) for lib, model in models.items()}
    assert len(records[kgraph]["val_acc"]) == 3
    for key, theirs in records[keras].items():
        np.testing.assert_allclose(records[kgraph][key], theirs, rtol=1e-5, err_msg=key)


def regularized_model(lib):
    """The guide's "Low-level handling of losses": a layer adding an activity loss in `call`."""

    class ActivityRegularizationLayer(lib.layers.Layer):
        def call(self, inputs):
            self.add_loss(1e-2 * lib.ops.sum(inputs))
            return inputs

    inputs = lib.Input(shape=(20,), name="digits")
    x = lib.layers.Dense(16, activation="relu")(inputs)
    x = ActivityRegularizationLayer()(x)
    x = lib.layers.Dense(16, activation="relu")(x)
    outputs = lib.layers.Dense(10, name="predictions")(x)
    return lib.Model(inputs=inputs, outputs=outputs)


def losses_example(lib, model, train_data):
    optimizer = lib.optimizers.Adam(learning_rate=1e-3)
    loss_fn = lib.losses.CategoricalCrossentropy(from_logits=True)
    train_acc_metric = lib.metrics.CategoricalAccuracy()

    def compute_loss_and_updates(trainable_variables, non_trainable_variables, metric_variables, x, y):
        y_pred, non_trainable_variables, losses = model.stateless_call(
            trainable_variables, non_trainable_variables, x, return_losses=True)
        loss = loss_fn(y, y_pred)
        if losses:
            loss += jax.numpy.sum(jax.numpy.array(losses))
        metric_variables = train_acc_metric.stateless_update_state(metric_variables, y, y_pred)
        return loss, (non_trainable_variables, metric_variables)

    grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)

    @jax.jit
    def train_step(state, data):
        trainable_variables, non_trainable_variables, optimizer_variables, metric_variables = state
        x, y = data
        (loss, (non_trainable_variables, metric_variables)), grads = grad_fn(
            trainable_variables, non_trainable_variables, metric_variables, x, y)
        trainable_variables, optimizer_variables = optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables)
        return loss, (trainable_variables, non_trainable_variables, optimizer_variables, metric_variables)

    optimizer.build(model.trainable_variables)
    state = initial_state(lib, model.trainable_variables, model.non_trainable_variables, optimizer.variables,
                          train_acc_metric.variables)
    losses = []
    for data in train_data:
        loss, state = train_step(state, data)
        losses.append(float(loss))
    return losses


def test_added_losses_loop_matches_keras():
    models = twin_models(regularized_model)
    train_data = batches(3)
    losses = {lib: losses_example(lib, model, train_data) for lib, model in models.items()}
    activity = 1e-2 * float(np.sum(np.maximum(train_data[0][0] @ models[keras].get_weights()[0]
                                              + models[keras].get_weights()[1], 0)))
    assert losses[kgraph][0] > activity > 0
    np.testing.assert_allclose(losses[kgraph], losses[keras], rtol=1e-5)
