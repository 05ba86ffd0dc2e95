"""Dense, Activation, Dropout, Flatten and custom layers: Keras parity, config round-trips, losses."""

import keras
import numpy as np
import pytest

import kgraph
from kgraph import layers, ops

ACTIVATIONS = ["relu", "softmax", "sigmoid", "tanh", "linear", "gelu", "silu", None]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_matches_keras_with_same_weights(activation):
    x = np.random.default_rng(1).normal(size=(6, 5)).astype("float32")
    ours, theirs = layers.Dense(4, activation=activation), keras.layers.Dense(4, activation=activation)
    theirs.build((None, 5))
    ours.build((None, 5))
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-6)


def test_dense_weight_names_shapes_and_config_round_trip():
    layer = layers.Dense(3, activation="relu", use_bias=True, kernel_initializer="he_normal",
                         kernel_regularizer=kgraph.regularizers.L2(0.01), name="head")
    layer.build((None, 7))
    assert [(w.path, w.shape) for w in layer.weights] == [("head/kernel", (7, 3)), ("head/bias", (3,))]
    config = layer.get_config()
    theirs = keras.layers.Dense(3, activation="relu", kernel_initializer="he_normal",
                                kernel_regularizer=keras.regularizers.L2(0.01), name="head").get_config()
    assert set(config) <= set(theirs) | {"dtype"}
    for key in ("units", "activation", "use_bias", "name", "trainable"):
        assert config[key] == theirs[key]
    clone = layers.Dense.from_config(config)
    assert clone.units == 3 and clone.activation is kgraph.activations.relu
    assert isinstance(clone.kernel_initializer, kgraph.initializers.HeNormal)
    assert clone.kernel_regularizer.l2 == pytest.approx(0.01)


def test_dense_without_bias_and_initializer_objects():
    layer = layers.Dense(2, use_bias=False, kernel_initializer=kgraph.initializers.Ones())
    out = layer(np.ones((3, 4), "float32"))
    assert len(layer.weights) == 1
    np.testing.assert_allclose(np.asarray(out), np.full((3, 2), 4.0))


def test_activation_flatten_dropout_configs():
    for layer in (layers.Activation("tanh"), layers.Flatten(), layers.Dropout(0.3, seed=2)):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == {**layer.get_config(), "name": clone.name} or clone.get_config() == layer.get_config()


def test_flatten_matches_keras():
    x = np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4)
    np.testing.assert_array_equal(np.asarray(layers.Flatten()(x)), np.asarray(keras.layers.Flatten()(x)))
    inputs = kgraph.Input(shape=(3, 4))
    assert layers.Flatten()(inputs).shape == (None, 12)


def test_dropout_is_identity_in_inference_and_random_in_training():
    kgraph.utils.set_random_seed(0)
    inputs = kgraph.Input(shape=(100,))
    model = kgraph.Model(inputs, layers.Dropout(0.5)(inputs))
    x = np.ones((8, 100), "float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(np.asarray(model(x)), x)
    dropped = np.asarray(model(x, training=True))
    assert 0.35 < (dropped == 0).mean() < 0.65
    np.testing.assert_allclose(dropped[dropped != 0], 2.0)
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.5)


class ActivityRegularizationLayer(kgraph.layers.Layer):
    def call(self, inputs):
        self.add_loss(ops.sum(inputs) * 0.1)
        return inputs


def test_add_loss_in_a_custom_layer_raises_the_training_loss():
    x = np.random.default_rng(0).random((256, 8), dtype=np.float32)
    y = np.random.default_rng(1).integers(0, 3, 256).astype("float32")

    def build(with_activity_loss):
        kgraph.utils.set_random_seed(5)
        inputs = kgraph.Input(shape=(8,))
        h = layers.Dense(16, activation="relu")(inputs)
        if with_activity_loss:
            h = ActivityRegularizationLayer()(h)
        model = kgraph.Model(inputs, layers.Dense(3, activation="softmax")(h))
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
        return model

    plain = build(False).fit(x, y, batch_size=32, epochs=1, verbose=0).history["loss"][0]
    regularized_model = build(True)
    regularized = regularized_model.fit(x, y, batch_size=32, epochs=1, verbose=0).history["loss"][0]
    assert regularized > plain + 0.5
    regularized_model(x[:4])
    assert len(regularized_model.losses) == 1


def test_custom_layer_with_add_weight_trains():
    class Scale(kgraph.layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

        def call(self, inputs):
            return inputs * self.scale

    inputs = kgraph.Input(shape=(4,))
    model = kgraph.Model(inputs, Scale()(inputs))
    model.compile(optimizer=kgraph.optimizers.SGD(0.1), loss="mse")
    x = np.ones((32, 4), "float32")
    model.fit(x, 3 * x, epochs=20, batch_size=32, verbose=0)
    # d/ds mean((s - 3)^2) = (s - 3) / 2 per unit, so each SGD step shrinks the gap by 0.95
    np.testing.assert_allclose(model.layers[1].scale.numpy(), 3 - 2 * 0.95**20, rtol=1e-5)


def test_variable_assign_inside_a_compiled_step_is_functional():
    import jax

    from kgraph.variables import StateScope, Variable

    v = Variable(np.zeros(3, "float32"), name="acc")

    @jax.jit
    def step(value):
        with StateScope({v: value}) as scope:
            v.assign_add(np.ones(3, "float32"))
            v.assign(v.value * 2)
        return scope.values[v]

    np.testing.assert_allclose(np.asarray(step(np.full(3, 1.0, "float32"))), np.full(3, 4.0))
    np.testing.assert_allclose(v.numpy(), np.zeros(3))
    with pytest.raises(ValueError, match=r"shape \(2,\).*'acc'.*\(3,\)"):
        v.assign(np.zeros(2))


def test_dropout_called_with_training_true_stays_active_in_predict():
    """The FAQ's `Dropout(0.5)(x, training=True)`: dropout at training *and* inference, fresh masks per batch."""
    inputs = kgraph.Input(shape=(200,))
    model = kgraph.Model(inputs, layers.Dropout(0.5)(inputs, training=True))
    x = np.ones((4, 200), "float32")
    first, second = model.predict(x, verbose=0, batch_size=2), model.predict(x, verbose=0, batch_size=2)
    assert 0.3 < (first == 0).mean() < 0.7
    assert not np.array_equal(first[:2], first[2:]) and not np.array_equal(first, second)


def test_calling_build_directly_marks_the_layer_built():
    class Scale(kgraph.layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

        def call(self, inputs):
            return inputs * self.scale

    layer = Scale()
    layer.build((None, 4))
    assert layer.built
    layer(np.ones((2, 4), "float32"))
    assert len(layer.weights) == 1


def test_a_second_fit_on_differently_sized_data_recompiles():
    inputs = kgraph.Input(shape=(3,))
    model = kgraph.Model(inputs, layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((15, 3), "float32"), np.ones((15, 1), "float32"), batch_size=5, verbose=0)
    history = model.fit(np.ones((18, 3), "float32"), np.ones((18, 1), "float32"), batch_size=5, verbose=0)
    assert np.isfinite(history.history["loss"][0])
