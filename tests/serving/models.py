"""The small models the serving tests and docs serve, exported to ONNX with kgraph itself."""

from pathlib import Path

import kgraph as keras


def mlp():
    """The guide's MNIST MLP."""
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="mlp")


def convnet():
    """A small MNIST convnet."""
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1), name="image"),
        keras.layers.Conv2D(8, 3, activation="relu", name="conv_1"),
        keras.layers.MaxPooling2D(2, name="pool_1"),
        keras.layers.Conv2D(16, 3, activation="relu", name="conv_2"),
        keras.layers.MaxPooling2D(2, name="pool_2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(10, activation="softmax", name="predictions"),
    ], name="convnet")


def two_io():
    """Two inputs of different datatypes, two outputs."""
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(3,), dtype="int64", name="b")
    joined = keras.layers.Concatenate(name="joined")([a, keras.ops.cast(b, "float32")])
    scores = keras.layers.Dense(2, name="scores")(joined)
    probability = keras.layers.Dense(1, activation="sigmoid", name="probability")(joined)
    return keras.Model(inputs=[a, b], outputs=[scores, probability], name="two_io")


def tokens():
    """Token ids of any length: requests of different lengths cannot share a batch."""
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(50, 8, name="embed")(ids)
    pooled = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="classes")(pooled)
    return keras.Model(inputs=ids, outputs=outputs, name="tokens")


MODELS = {"mlp": mlp, "convnet": convnet, "two_io": two_io, "tokens": tokens}


def export_all(folder: Path) -> dict[str, Path]:
    """Exports each model to `folder/<name>.onnx`; returns the paths by name."""
    paths = {}
    for name, build in MODELS.items():
        paths[name] = folder / f"{name}.onnx"
        build().export(paths[name])
    return paths

