"""The guide's sections on compile, custom losses and metrics, add_loss, validation split and weighting."""

import keras as real_keras
import numpy as np
import pytest
import tensorflow as tf

import kgraph as keras
from kgraph import layers, ops
from tests.guide.conftest import get_compiled_model, get_uncompiled_model


def test_compile_with_objects_and_with_string_identifiers(mnist_split):
    x_train, y_train = mnist_split[:2]
    histories = []
    for config in (
        dict(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3), loss=keras.losses.SparseCategoricalCrossentropy(),
             metrics=[keras.metrics.SparseCategoricalAccuracy()]),
        dict(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"]),
    ):
        keras.utils.set_random_seed(4)
        model = get_uncompiled_model()
        model.compile(**config)
        histories.append(model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0).history)
    assert histories[0] == histories[1]


def custom_mean_squared_error(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


class CustomMSE(keras.losses.Loss):
    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor


def test_custom_losses(mnist_split):
    x_train, y_train = mnist_split[:2]
    y_train_one_hot = ops.one_hot(y_train, num_classes=10)
    losses = []
    for loss in (custom_mean_squared_error, CustomMSE(), CustomMSE(regularization_factor=0.0)):
        keras.utils.set_random_seed(5)
        model = get_uncompiled_model()
        model.compile(optimizer=keras.optimizers.Adam(), loss=loss)
        losses.append(model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1, verbose=0).history["loss"][0])
    assert losses[0] == pytest.approx(losses[2], rel=1e-6)
    assert losses[1] > losses[0]


class CategoricalTruePositives(keras.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
        values = ops.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            values = ops.multiply(values, sample_weight)
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives.value

    def reset_state(self):
        self.true_positives.assign(0.0)


def test_custom_metric_is_reset_each_epoch_and_grows(mnist_split):
    x_train, y_train = mnist_split[:2]
    model = get_uncompiled_model()
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=[CategoricalTruePositives()])
    history = model.fit(x_train, y_train, batch_size=64, epochs=3, verbose=0).history
    ctp = history["categorical_true_positives"]
    assert len(ctp) == 3 and ctp[0] < ctp[2] <= len(x_train)
    # Targets of shape (n,) meet predictions of shape (n, 1) as Keras 2 aligned them (a trailing axis), so
    # the guide's metric counts true positives, as its name says (Keras 3 broadcasts to a batch×batch grid).
    predictions = model.predict(x_train, verbose=0).argmax(axis=1)
    model.evaluate(x_train, y_train, batch_size=32, verbose=0)
    assert float(model.metrics[-1].result()) == float(np.sum(y_train.astype(int) == predictions))


class ActivityRegularizationLayer(layers.Layer):
    def call(self, inputs):
        self.add_loss(ops.sum(inputs) * 0.1)
        return inputs


def test_add_loss_layer_raises_the_displayed_loss(mnist_split):
    x_train, y_train = mnist_split[:2]

    def build(with_regularization):
        keras.utils.set_random_seed(6)
        inputs = keras.Input(shape=(784,), name="digits")
        x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
        if with_regularization:
            x = ActivityRegularizationLayer()(x)
        x = layers.Dense(64, activation="relu", name="dense_2")(x)
        model = keras.Model(inputs=inputs, outputs=layers.Dense(10, name="predictions")(x))
        model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0).history["loss"][0]

    assert build(True) > 2 * build(False)


class LogisticEndpoint(keras.layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, targets, logits, sample_weights=None):
        loss = self.loss_fn(targets, logits, sample_weights)
        self.add_loss(loss)
        return ops.softmax(logits)


def test_endpoint_layer_trains_without_a_compiled_loss():
    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)
    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer="adam")
    data = {"inputs": np.random.random((3, 3)), "targets": np.random.random((3, 10))}
    history = model.fit(data, epochs=30, verbose=0).history
    assert list(history) == ["loss"] and history["loss"][-1] < history["loss"][0]


def test_validation_split_takes_the_last_fraction(mnist_split):
    x_train, y_train = mnist_split[:2]
    model = get_compiled_model()
    history = model.fit(x_train, y_train, batch_size=64, validation_split=0.2, epochs=1, verbose=0).history
    held_out = model.evaluate(x_train[4800:], y_train[4800:], verbose=0, return_dict=True)
    assert history["val_loss"][0] == pytest.approx(held_out["loss"], rel=1e-5)


def keras_compiled_model():
    inputs = real_keras.Input(shape=(784,), name="digits")
    x = real_keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = real_keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = real_keras.layers.Dense(10, activation="softmax", name="predictions")(x)
    model = real_keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
    return model


CLASS_WEIGHT = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 2.0, 6: 1.0, 7: 1.0, 8: 1.0, 9: 1.0}


def test_class_weight_and_sample_weight_match_keras(mnist_split):
    x_train, y_train = mnist_split[0][:2048], mnist_split[1][:2048]
    sample_weight = np.ones(shape=(len(y_train),))
    sample_weight[y_train == 5] = 2.0
    for weighting in (dict(class_weight=CLASS_WEIGHT), dict(sample_weight=sample_weight)):
        theirs = keras_compiled_model()
        ours = get_compiled_model()
        ours.set_weights(theirs.get_weights())
        h_theirs = theirs.fit(x_train, y_train, batch_size=64, epochs=1, shuffle=False, verbose=0, **weighting).history
        h_ours = ours.fit(x_train, y_train, batch_size=64, epochs=1, shuffle=False, verbose=0, **weighting).history
        for key in h_theirs:
            np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=1e-5, err_msg=str(weighting.keys()))


def test_sample_weight_from_a_tf_dataset_equals_arrays(mnist_split):
    x_train, y_train = mnist_split[:2]
    sample_weight = np.ones(shape=(len(y_train),))
    sample_weight[y_train == 5] = 2.0
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train, sample_weight)).batch(64)
    a, b = get_compiled_model(), get_compiled_model()
    b.set_weights(a.get_weights())
    h_a = a.fit(train_dataset, epochs=1, verbose=0).history
    h_b = b.fit(x_train, y_train, sample_weight=sample_weight, batch_size=64, epochs=1, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h_a["loss"], h_b["loss"], rtol=1e-5)
