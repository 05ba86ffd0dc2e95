"""SpectralNormalization: Keras parity in inference (XLA, ONNX Runtime) and in training calls, `vector_u` and the
kernel after compiled training steps, weights, config and a `.keras` file Keras saved."""

import keras
import numpy as np
import pytest

import kgraph
from kgraph import layers
from tests.layers.keras_crossing import assert_keras_file_loads, assert_train_step_matches, model_pair
from tests.layers.parity import check_layer

RNG = np.random.default_rng(3)
X = RNG.normal(size=(4, 5)).astype("float32")
IMAGES = RNG.normal(size=(2, 6, 6, 3)).astype("float32")
TOKENS = RNG.integers(0, 10, size=(3, 4)).astype("int32")

WRAPPED = {
    "dense": (lambda lib: lib.layers.Dense(3, activation="relu"), X),
    "conv2d": (lambda lib: lib.layers.Conv2D(4, 3), IMAGES),
    "embedding": (lambda lib: lib.layers.Embedding(10, 3), TOKENS),
}


@pytest.mark.parametrize("case", sorted(WRAPPED))
def test_inference_matches_keras_and_onnx(case, tmp_path):
    inner, x = WRAPPED[case]
    check_layer(lambda lib: lib.layers.SpectralNormalization(inner(lib), power_iterations=2), [x],
                grad=case == "dense", tmp_dir=str(tmp_path))


def _model(inner, x, power_iterations=1):
    def build(lib):
        inputs = lib.Input(shape=x.shape[1:], dtype=str(x.dtype))
        wrapped = lib.layers.SpectralNormalization(inner(lib), power_iterations=power_iterations, name="sn")
        return lib.Model(inputs, lib.layers.Dense(2)(lib.layers.Flatten()(wrapped(inputs))))
    return build


@pytest.mark.parametrize("case", ["dense", "conv2d"])
def test_training_steps_update_vector_u_and_the_kernel_as_keras_does(case):
    inner, x = WRAPPED[case]
    y = RNG.normal(size=(len(x), 2)).astype("float32")
    assert_train_step_matches(_model(inner, x, power_iterations=3), x, y, rtol=1e-4, atol=1e-5)


def test_vector_u_changes_only_in_training_and_follows_keras_over_steps():
    ours, theirs = model_pair(_model(WRAPPED["dense"][0], X))
    before = ours.get_layer("sn").vector_u.numpy().copy()
    ours.predict(X, verbose=0)
    np.testing.assert_array_equal(ours.get_layer("sn").vector_u.numpy(), before)
    for model in (ours, theirs):
        model.compile(optimizer="sgd", loss="mse")
    y = np.zeros((len(X), 2), "float32")
    for _ in range(3):
        ours.train_on_batch(X, y)
        theirs.train_on_batch(X, y)
    assert not np.allclose(ours.get_layer("sn").vector_u.numpy(), before)
    for a, b, w in zip(ours.get_weights(), theirs.get_weights(), theirs.weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=w.path)


def test_eager_training_call_matches_keras_and_normalizes_the_kernel():
    ours, theirs = (lib.layers.SpectralNormalization(lib.layers.Dense(3)) for lib in (kgraph, keras))
    theirs.build(X.shape)
    ours.build(X.shape)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(X, training=True)), np.asarray(theirs(X, training=True)),
                               rtol=1e-5, atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_weights_have_keras_paths_and_order():
    ours, theirs = (lib.layers.SpectralNormalization(lib.layers.Dense(3, name="d"), name="sn")
                    for lib in (kgraph, keras))
    ours.build((None, 4))
    theirs.build((None, 4))
    assert [(w.path, w.shape, w.trainable) for w in ours.weights] == \
        [(w.path, tuple(w.shape), w.trainable) for w in theirs.weights]


def test_config_matches_keras_and_round_trips():
    ours = layers.SpectralNormalization(layers.Dense(3, name="d"), power_iterations=4, name="sn")
    theirs = keras.layers.SpectralNormalization(keras.layers.Dense(3, name="d"), power_iterations=4, name="sn")
    config, expected = ours.get_config(), theirs.get_config()
    assert set(config) == set(expected) and config["power_iterations"] == 4
    assert {k: config["layer"][k] for k in ("module", "class_name")} == \
        {k: expected["layer"][k] for k in ("module", "class_name")}
    assert layers.SpectralNormalization.from_config(config).get_config() == config
    assert keras.layers.SpectralNormalization.from_config(
        {**config, "layer": {**config["layer"], "config": {k: v for k, v in config["layer"]["config"].items()
                                                           if k != "dtype"}}}).power_iterations == 4


def test_keras_file_loads(tmp_path):
    assert_keras_file_loads(_model(WRAPPED["conv2d"][0], IMAGES), IMAGES, tmp_path)


def test_bad_arguments_fail_naming_them():
    with pytest.raises(ValueError, match="power_iterations=0"):
        layers.SpectralNormalization(layers.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="'kernel' nor 'embeddings'"):
        layers.SpectralNormalization(layers.LayerNormalization()).build((None, 3))
