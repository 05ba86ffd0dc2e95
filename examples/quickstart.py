"""The guide's first end-to-end example on kgraph: train on MNIST, evaluate, predict, export ONNX, verify it.

Run: `python examples/quickstart.py`. Without MNIST on disk or the internet, it says so and trains on
scikit-learn's bundled handwritten digits instead (8×8 images, upsampled to 28×28), so it always completes.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

import kgraph as keras
from kgraph import layers


def load_digits_fallback():
    """scikit-learn's 1,797 real handwritten digits, padded from 8×8 to MNIST's 28×28 (uint8, 0..255)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.kron(digits.images, np.ones((3, 3)))
    images = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    images = (images / 16.0 * 255).astype("uint8")
    labels = digits.target.astype("uint8")
    split = int(len(images) * 0.8)
    return (images[:split], labels[:split]), (images[split:], labels[split:])


def load_mnist():
    try:
        return keras.datasets.mnist.load_data()
    except keras.datasets.DatasetNotFoundError:
        pass
    try:
        x, y = keras.datasets.mnist.load_split("test")
        print("MNIST's training split is not available; training on 8,000 of its 10,000 test images, testing on the rest.")
        return (x[:8000], y[:8000]), (x[8000:], y[8000:])
    except keras.datasets.DatasetNotFoundError:
        print("MNIST is not cached and cannot be downloaded; training on scikit-learn's bundled digits instead.")
        return load_digits_fallback()


def main() -> int:
    keras.utils.set_random_seed(1337)
    (x_train, y_train), (x_test, y_test) = load_mnist()
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255
    y_train = y_train.astype("float32")
    y_test = y_test.astype("float32")
    n_val = max(len(x_train) // 6, 1)
    x_val, y_val = x_train[-n_val:], y_train[-n_val:]
    x_train, y_train = x_train[:-n_val], y_train[:-n_val]

    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.summary()
    model.compile(
        optimizer=keras.optimizers.RMSprop(),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    )
    print("Fit model on training data")
    history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_data=(x_val, y_val))
    print(history.history)

    print("Evaluate on test data")
    results = model.evaluate(x_test, y_test, batch_size=128)
    print("test loss, test acc:", results)
    predictions = model.predict(x_test[:3])
    print("predictions shape:", predictions.shape)

    path = os.path.join(tempfile.mkdtemp(prefix="kgraph-"), "mnist_mlp.onnx")
    result = model.export(path, format="onnx", verify=True)
    served = keras.runtime.OnnxModel(path).predict(x_test)
    reference = model.predict(x_test, verbose=0)
    max_error = float(np.abs(served - reference).max())
    agree = float(np.mean(served.argmax(-1) == reference.argmax(-1)))
    print(f"ONNX export: {path} ({os.path.getsize(path):,} bytes, {result.num_nodes} nodes); ONNX Runtime vs XLA on "
          f"{len(x_test):,} test images: max abs error {max_error:.1e}, same class for {agree:.2%}")
    print(f"Test accuracy: {results[1]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
