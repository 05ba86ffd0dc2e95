"""The Keras FAQ's code blocks (config file, reproducibility, freezing and fine-tuning, `training` vs `trainable`,
validation split, shuffling, predict vs `__call__`, feature extraction, customizing fit) run on kgraph.

Saving, BackupAndRestore/EarlyStopping and stateful RNNs are covered in tests/saving/test_faq_saving.py,
tests/callbacks/test_guide_callbacks.py and tests/layers/test_rnn.py.
"""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kgraph as keras
from kgraph import layers
from kgraph.layers import Dense
from kgraph.models import Sequential


def conv_base(input_shape=(8, 8, 3)):
    """Stands in for the FAQ's hypothetical `ResNet50Base(input_shape=..., weights='pretrained')`."""
    return Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(4, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
    ], name="conv_base")


def values(variables):
    return [np.array(v.numpy() if hasattr(v, "numpy") else v) for v in variables]


def image_data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 8, 8, 3)).astype("float32"), rng.normal(size=(n, 10)).astype("float32")


# --- Where is the configuration file stored? ---------------------------------------------------------------------

def test_config_file_is_created_with_defaults_and_read_back(tmp_path):
    code = textwrap.dedent("""
        import json, os, pathlib
        import kgraph
        path = pathlib.Path(os.environ["KGRAPH_HOME"]) / "kgraph.json"
        config = json.loads(path.read_text())
        print(json.dumps({"file": config, "floatx": kgraph.config.floatx()}))
    """)
    env = {**os.environ, "KGRAPH_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["file"]["floatx"] == "float32"
    assert result["file"]["epsilon"] == 1e-7
    assert result["file"]["image_data_format"] == "channels_last"
    assert result["floatx"] == "float32"

    # An edited file is what the next process reads.
    path = tmp_path / "home" / "kgraph.json"
    path.write_text(json.dumps({**result["file"], "floatx": "float16"}))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1])["floatx"] == "float16"


# --- Reproducible results -------------------------------------------------------------------------------------------

def test_set_random_seed_makes_two_fits_bit_identical():
    x, y = image_data(64)

    def run():
        keras.utils.set_random_seed(1337)
        model = Sequential([keras.Input(shape=(8, 8, 3)), layers.Flatten(), Dense(16, activation="relu"),
                            layers.Dropout(0.3), Dense(10)])
        model.compile(optimizer="adam", loss="mse")
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=True, verbose=0).history
        return history, values(model.weights)

    (h1, w1), (h2, w2) = run(), run()
    assert h1 == h2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)


# --- Freezing layers and fine-tuning ---------------------------------------------------------------------------------

def test_trainable_false_empties_trainable_weights():
    layer = Dense(3)
    assert layer.trainable
    layer.build(input_shape=(None, 3))
    assert [tuple(v.shape) for v in layer.trainable_weights] == [(3, 3), (3,)]
    layer.trainable = False
    assert layer.trainable_weights == []


def test_trainable_is_set_recursively_on_child_layers():
    base = conv_base()
    base.trainable = False
    assert all(not layer.trainable for layer in base.layers)
    assert all(layer.trainable_weights == [] for layer in base.layers)


def test_fine_tuning_with_fit_trains_only_the_head():
    model = Sequential([
        keras.Input(shape=(8, 8, 3)),  # Builds the model now, as a pretrained base with an input_shape would.
        conv_base(input_shape=(8, 8, 3)),
        Dense(10),
    ])
    model.layers[0].trainable = False  # Freeze the base.

    assert model.layers[0].trainable_weights == []
    assert len(model.trainable_weights) == 2  # Only the Dense layer's kernel and bias.

    x, y = image_data()
    frozen_before = values(model.layers[0].weights)
    head_before = values(model.layers[1].weights)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    for before, after in zip(frozen_before, values(model.layers[0].weights)):
        np.testing.assert_array_equal(before, after)
    assert any(not np.array_equal(b, a) for b, a in zip(head_before, values(model.layers[1].weights)))


def test_custom_training_loop_updates_only_trainable_weights():
    # The FAQ's GradientTape loop, on JAX: differentiate stateless_call with respect to the trainable weights only.
    model = Sequential([
        keras.Input(shape=(8, 8, 3)),  # Builds the model now, as a pretrained base with an input_shape would.
        conv_base(input_shape=(8, 8, 3)),
        Dense(10),
    ])
    model.layers[0].trainable = False
    optimizer = keras.optimizers.Adam(learning_rate=1e-2)
    loss_fn = keras.losses.MeanSquaredError()
    x, y = image_data()
    dataset = [(x[i:i + 8], y[i:i + 8]) for i in range(0, len(x), 8)]

    trainable = [jnp.asarray(v.value) for v in model.trainable_weights]
    non_trainable = [jnp.asarray(v.value) for v in model.non_trainable_weights]
    frozen_before = values(model.layers[0].weights)
    assert len(trainable) == 2 and len(non_trainable) == len(frozen_before)
    state = optimizer.init(trainable)

    def compute_loss(trainable, non_trainable, inputs, targets):
        predictions, non_trainable = model.stateless_call(trainable, non_trainable, inputs, training=True)
        return loss_fn(targets, predictions), non_trainable

    grad_fn = jax.value_and_grad(compute_loss, has_aux=True)
    losses = []
    for inputs, targets in dataset:
        (loss_value, non_trainable), gradients = grad_fn(trainable, non_trainable, inputs, targets)
        trainable, state = optimizer.stateless_apply(state, gradients, trainable)
        losses.append(float(loss_value))
    for variable, value in zip(model.trainable_weights, trainable):
        variable.assign(value)

    assert np.isfinite(losses).all()
    for before, after in zip(frozen_before, values(model.layers[0].weights)):
        np.testing.assert_array_equal(before, after)
    for before, after in zip(frozen_before, values(non_trainable)):
        np.testing.assert_array_equal(before, after)


def _gan():
    discriminator = Sequential([keras.Input(shape=(4,)), Dense(8, activation="relu"), Dense(1)], name="discriminator")
    generator = Sequential([keras.Input(shape=(2,)), Dense(4)], name="generator")
    gan = Sequential([keras.Input(shape=(2,)), generator, discriminator], name="gan")
    return generator, discriminator, gan


def test_compile_snapshots_trainability_for_the_gan_pattern():
    generator, discriminator, gan = _gan()
    discriminator.compile(optimizer="sgd", loss="mse")  # Updates the discriminator when it is trained.
    discriminator.trainable = False
    gan.compile(optimizer="sgd", loss="mse")  # The discriminator is part of gan: gan must not update it.

    rng = np.random.default_rng(0)
    z, real = rng.normal(size=(16, 2)).astype("float32"), rng.normal(size=(16, 4)).astype("float32")
    labels = rng.normal(size=(16, 1)).astype("float32")

    d_before, g_before = values(discriminator.weights), values(generator.weights)
    gan.fit(z, labels, batch_size=8, epochs=1, verbose=0)
    for before, after in zip(d_before, values(discriminator.weights)):
        np.testing.assert_array_equal(before, after)
    assert any(not np.array_equal(b, a) for b, a in zip(g_before, values(generator.weights)))

    # The discriminator was compiled while trainable, so its own fit still updates it.
    discriminator.fit(real, labels, batch_size=8, epochs=1, verbose=0)
    assert any(not np.array_equal(b, a) for b, a in zip(d_before, values(discriminator.weights)))

    # And gan keeps its snapshot: training it again still leaves the discriminator alone.
    d_trained = values(discriminator.weights)
    gan.fit(z, labels, batch_size=8, epochs=1, verbose=0)
    for before, after in zip(d_trained, values(discriminator.weights)):
        np.testing.assert_array_equal(before, after)


# --- `training` argument vs `trainable` attribute -------------------------------------------------------------------

def test_dropout_with_training_true_drops_at_predict_time():
    inputs = keras.Input(shape=(64,))
    y = layers.Dropout(0.5)(inputs, training=True)  # Dropout at training *and* inference time.
    model = keras.Model(inputs, y)
    x = np.ones((4, 64), "float32")
    out = model.predict(x, verbose=0)
    assert (out == 0).any()
    assert set(np.unique(out)) <= {0.0, 2.0}
    # Without training=True the same layer is the identity at inference.
    plain = keras.Model(inputs, layers.Dropout(0.5)(inputs))
    np.testing.assert_array_equal(plain.predict(x, verbose=0), x)


class AutoScaleDropout(layers.Layer):
    """Dropout whose output scale is learned by backpropagation: trainable state and a training/inference split."""

    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.dropout = layers.Dropout(rate)

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(), initializer="ones", trainable=True, name="scale")

    def call(self, inputs, training=False):
        return self.dropout(inputs, training=training) * self.scale

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


def test_auto_scale_dropout_is_trainable_and_stochastic():
    x = np.ones((4, 64), "float32")
    layer = AutoScaleDropout(0.5)
    # Dropout at training *and* inference time, and the scale is learned during training.
    y = np.asarray(layer(x, training=True))
    assert len(layer.trainable_weights) == 1
    assert (y == 0).any() and (y != 0).any()


def test_frozen_auto_scale_dropout_still_drops_under_training_true():
    x = np.ones((4, 64), "float32")
    # Dropout at training *and* inference time with a *frozen* scale.
    layer = AutoScaleDropout(0.5)
    layer.trainable = False
    y = np.asarray(layer(x, training=True))
    assert layer.trainable_weights == []
    assert len(layer.non_trainable_weights) == 1
    assert (y == 0).any() and (y != 0).any()
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)


def test_frozen_auto_scale_dropout_scale_does_not_train_in_a_model():
    inputs = keras.Input(shape=(16,))
    scaled = AutoScaleDropout(0.5, name="auto")
    model = keras.Model(inputs, Dense(1)(scaled(inputs)))
    x, y = np.ones((32, 16), "float32"), np.ones((32, 1), "float32")
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert float(np.asarray(scaled.scale.numpy())) != 1.0  # A trainable scale learns.

    scaled.trainable = False
    model.compile(optimizer="sgd", loss="mse")
    before = float(np.asarray(scaled.scale.numpy()))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert float(np.asarray(scaled.scale.numpy())) == before


def test_frozen_batch_normalization_does_not_update_its_statistics():
    x = np.random.default_rng(0).normal(loc=3.0, size=(32, 4)).astype("float32")
    bn = layers.BatchNormalization()
    bn.build((None, 4))
    bn.trainable = False
    before = values(bn.weights)
    bn(x, training=True)
    for b, a in zip(before, values(bn.weights)):
        np.testing.assert_array_equal(b, a)

    # The same inside fit: a frozen BN keeps its moving statistics and runs in inference mode.
    inputs = keras.Input(shape=(4,))
    frozen = layers.BatchNormalization()
    model = keras.Model(inputs, Dense(1)(frozen(inputs)))
    frozen.trainable = False
    model.compile(optimizer="sgd", loss="mse")
    before = values(frozen.weights)
    model.fit(x, np.zeros((32, 1), "float32"), batch_size=8, epochs=1, verbose=0)
    for b, a in zip(before, values(frozen.weights)):
        np.testing.assert_array_equal(b, a)

    # A trainable BN does move its statistics under training=True.
    live = layers.BatchNormalization()
    live(x, training=True)
    assert not np.array_equal(values([live.moving_mean])[0], np.zeros(4, "float32"))


# --- Validation split and shuffling ---------------------------------------------------------------------------------

def _index_data(n=20):
    """x is each row's own index, y is 0: an Identity model's MAE over rows is the mean of their indices."""
    x = np.arange(n, dtype="float32").reshape(n, 1)
    return x, np.zeros((n, 1), "float32")


def test_validation_split_uses_the_last_fraction_of_the_data():
    x, y = _index_data(20)
    inputs = keras.Input(shape=(1,))
    model = keras.Model(inputs, layers.Identity()(inputs))
    model.compile(optimizer="sgd", loss="mae")
    # Identity model, y = 0: the validation MAE is the mean of the validation rows' indices.
    history = model.fit(x, y, validation_split=0.25, batch_size=5, epochs=2, verbose=0, shuffle=True).history
    np.testing.assert_allclose(history["val_loss"], [np.mean(np.arange(15, 20))] * 2, rtol=1e-6)
    # The training loss covers exactly the first 75% (whatever order shuffling puts them in).
    np.testing.assert_allclose(history["loss"], [np.mean(np.arange(15))] * 2, rtol=1e-6)


def test_validation_split_of_ten_percent():
    x, y = _index_data(20)
    inputs = keras.Input(shape=(1,))
    model = keras.Model(inputs, layers.Identity()(inputs))
    model.compile(optimizer="sgd", loss="mae")
    history = model.fit(x, y, validation_split=0.1, batch_size=5, epochs=1, verbose=0).history
    np.testing.assert_allclose(history["val_loss"], [np.mean([18, 19])], rtol=1e-6)


def test_second_fit_with_a_different_validation_split():
    x, y = _index_data(20)
    inputs = keras.Input(shape=(1,))
    model = keras.Model(inputs, layers.Identity()(inputs))
    model.compile(optimizer="sgd", loss="mae")
    model.fit(x, y, validation_split=0.25, batch_size=5, epochs=1, verbose=0)
    history = model.fit(x, y, validation_split=0.1, batch_size=5, epochs=1, verbose=0).history
    np.testing.assert_allclose(history["val_loss"], [np.mean([18, 19])], rtol=1e-6)


class _BatchMeans(keras.callbacks.Callback):
    """Records each batch's mean loss (the running mean's increments) to see which samples a batch held."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append([])

    def on_train_batch_end(self, batch, logs=None):
        self.epochs[-1].append(float(logs["loss"]))


def test_training_data_is_shuffled_each_epoch_and_shuffle_false_keeps_the_order():
    x, y = _index_data(20)
    inputs = keras.Input(shape=(1,))
    model = keras.Model(inputs, layers.Identity()(inputs))
    model.compile(optimizer="sgd", loss="mae")
    ordered = _BatchMeans()
    model.fit(x, y, batch_size=5, epochs=2, shuffle=False, verbose=0, callbacks=[ordered])
    assert ordered.epochs[0][0] == pytest.approx(np.mean(np.arange(5))) and ordered.epochs[0] == ordered.epochs[1]
    shuffled = _BatchMeans()
    model.fit(x, y, batch_size=5, epochs=2, shuffle=True, verbose=0, callbacks=[shuffled])
    assert shuffled.epochs[0] != ordered.epochs[0] and shuffled.epochs[0] != shuffled.epochs[1]
    assert shuffled.epochs[0][-1] == pytest.approx(np.mean(np.arange(20)))  # every sample, once per epoch


# --- predict() vs __call__() ----------------------------------------------------------------------------------------

def test_predict_batches_to_numpy_while_call_is_a_differentiable_jax_array():
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, layers.Dense(2, activation="tanh")(inputs))
    x = np.random.default_rng(0).normal(size=(10, 3)).astype("float32")

    class Count(keras.callbacks.Callback):
        batches = 0

        def on_predict_batch_end(self, batch, logs=None):
            Count.batches += 1

    predictions = model.predict(x, batch_size=4, verbose=0, callbacks=[Count()])
    assert isinstance(predictions, np.ndarray) and Count.batches == 3
    called = model(x)
    assert isinstance(called, jax.Array)
    np.testing.assert_allclose(np.asarray(called), predictions, rtol=1e-6)
    grad = jax.grad(lambda inp: jnp.sum(model(inp)))(jnp.asarray(x))
    assert grad.shape == x.shape and np.abs(np.asarray(grad)).sum() > 0


# --- Feature extraction ---------------------------------------------------------------------------------------------

def test_feature_extraction_model_returns_every_layer_output():
    initial_model = Sequential([keras.Input(shape=(250, 250, 3)), layers.Conv2D(32, 5, strides=2, activation="relu"),
                                layers.Conv2D(32, 3, activation="relu"), layers.Conv2D(32, 3, activation="relu")])
    feature_extractor = keras.Model(inputs=initial_model.inputs,
                                    outputs=[layer.output for layer in initial_model.layers])
    x = np.ones((1, 250, 250, 3), "float32")
    features = feature_extractor(x)
    assert [tuple(f.shape) for f in features] == [(1, 123, 123, 32), (1, 121, 121, 32), (1, 119, 119, 32)]
    np.testing.assert_allclose(np.asarray(features[-1]), initial_model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_intermediate_layer_model_by_name():
    model = Sequential([keras.Input(shape=(5,)), Dense(7, activation="relu", name="my_layer"), Dense(2)])
    layer_name = "my_layer"
    intermediate_layer_model = keras.Model(inputs=model.input, outputs=model.get_layer(layer_name).output)
    data = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    intermediate_output = intermediate_layer_model(data)

    layer = model.get_layer(layer_name)
    expected = np.maximum(data @ np.asarray(layer.kernel.numpy()) + np.asarray(layer.bias.numpy()), 0)
    assert tuple(intermediate_output.shape) == (3, 7)
    np.testing.assert_allclose(np.asarray(intermediate_output), expected, rtol=1e-5, atol=1e-6)
