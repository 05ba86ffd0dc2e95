"""The guide's setup: MNIST from ../shared/data (8,000 train / 2,000 test of the real split) and its model helpers."""

import numpy as np
import pytest

import kgraph as keras
from kgraph import layers


@pytest.fixture(scope="session")
def mnist_split():
    x, y = keras.datasets.mnist.load_split("test")
    x = x.reshape(len(x), 784).astype("float32") / 255
    y = y.astype("float32")
    x_train, y_train, x_test, y_test = x[:8000], y[:8000], x[8000:], y[8000:]
    x_val, y_val = x_train[-2000:], y_train[-2000:]
    return x_train[:-2000], y_train[:-2000], x_val, y_val, x_test, y_test


def get_uncompiled_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def get_compiled_model():
    model = get_uncompiled_model()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
    return model
