"""The Keras guide "Simple MNIST convnet", one epoch (the guide runs 15): kgraph reaches Keras 3's accuracy."""

import keras
import numpy as np
import pytest

import kgraph


def guide_convnet(lib):
    layers = lib.layers
    return lib.Sequential([
        lib.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def _accuracy(lib, model, weights, data) -> float:
    (x_train, y_train), (x_test, y_test) = data
    model.set_weights(weights)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=128, epochs=1, validation_split=0.1, verbose=0)
    return model.evaluate(x_test, y_test, verbose=0)[1]


@pytest.mark.slow
def test_one_epoch_of_the_guide_convnet_reaches_keras_accuracy():
    x, y = kgraph.datasets.mnist.load_split("test")  # the split kept locally: 8,000 to train, 2,000 to test
    x, y = np.expand_dims(x.astype("float32") / 255, -1), np.eye(10, dtype="float32")[y]
    data = ((x[:8000], y[:8000]), (x[8000:], y[8000:]))
    kgraph.utils.set_random_seed(0)
    ours_model = guide_convnet(kgraph)
    weights = [np.asarray(w) for w in ours_model.get_weights()]
    keras.utils.set_random_seed(0)
    theirs = _accuracy(keras, guide_convnet(keras), weights, data)
    ours = _accuracy(kgraph, ours_model, weights, data)
    assert theirs > 0.85
    assert abs(ours - theirs) < 0.03, (ours, theirs)
