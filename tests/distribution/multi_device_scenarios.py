"""Training scenarios on 8 host devices, run in a subprocess by test_distributed_training.py.

`python multi_device_scenarios.py NAME...` sets `XLA_FLAGS` before JAX starts, runs each scenario and
prints one JSON line per scenario: `{"name": ..., "result": {...}}` or `{"name": ..., "error": "Type: message"}`.
Each scenario compares against the same model trained with no distribution (on one device).
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
os.environ.setdefault("KERAS_BACKEND", "jax")

import json  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

import kgraph as keras  # noqa: E402
from kgraph import distribution as dl  # noqa: E402
from kgraph.runtime import sharding  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.random((100, 16), dtype=np.float32)
Y = RNG.integers(0, 8, size=100).astype("float32")
XV = RNG.random((40, 16), dtype=np.float32)
YV = RNG.integers(0, 8, size=40).astype("float32")


def build(batch_norm: bool = True):
    """A small MLP with Dropout (randomness) and BatchNormalization (non-trainable state)."""
    keras.random.set_seed(1)
    inputs = keras.Input((16,), name="features")
    if batch_norm:  # no bias before BatchNormalization: its gradient is rounding noise, which Adam would amplify
        h = keras.layers.Dense(32, use_bias=False, name="dense_1")(inputs)
        h = keras.layers.Activation("relu")(keras.layers.BatchNormalization(name="bn")(h))
    else:
        h = keras.layers.Dense(32, activation="relu", name="dense_1")(inputs)
    h = keras.layers.Dropout(0.25)(h)
    outputs = keras.layers.Dense(8, activation="softmax", name="dense_2")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train(weights, batch_norm: bool = True, **fit_kwargs):
    """(model, history) after fitting the model from `weights` with a fixed seed."""
    model = build(batch_norm)
    model.set_weights(weights)
    keras.random.set_seed(7)
    history = model.fit(X, Y, verbose=0, **fit_kwargs).history
    return model, {k: [float(v) for v in vals] for k, vals in history.items()}


def max_diff(a: dict, b: dict) -> float:
    return max(abs(x - y) for k in a for x, y in zip(a[k], b[k]))


def spec(array) -> list:
    return [list(a) if isinstance(a, tuple) else a for a in array.sharding.spec]


FIT = dict(batch_size=16, epochs=2, validation_data=(XV, YV))
_reference: list = []


def reference():
    """(initial weights, model, history) of `build()` trained with FIT on one device (computed once)."""
    if not _reference:
        weights = build().get_weights()
        _reference.extend((weights, *train(weights, **FIT)))
    return _reference


def data_parallel():
    weights, ref_model, ref = reference()
    with dl.DataParallel(devices=jax.devices()).scope():
        model, history = train(weights, **FIT)
        evaluated = model.evaluate(XV, YV, batch_size=8, verbose=0)
        predicted = model.predict(XV, batch_size=8, verbose=0)
    kernel = model.get_layer("dense_1").kernel.value
    return {"loss_diff": max_diff(ref, history), "keys": sorted(history), "loss": history["loss"],
            "eval_diff": float(np.max(np.abs(np.array(evaluated) - np.array(ref_model.evaluate(XV, YV, batch_size=8, verbose=0))))),
            "predict_diff": float(np.max(np.abs(predicted - ref_model.predict(XV, batch_size=8, verbose=0)))),
            "kernel_devices": len(kernel.sharding.device_set), "kernel_spec": spec(kernel),
            "weights_diff": float(max(np.max(np.abs(a - b)) for a, b in zip(model.get_weights(), ref_model.get_weights())))}


def model_parallel():
    weights, ref_model, ref = reference()
    mesh = dl.DeviceMesh((2, 4), ("batch", "model"))
    layout_map = dl.LayoutMap(mesh)
    layout_map["dense.*kernel"] = (None, "model")
    layout_map["dense_2/bias"] = ("model",)
    layout_map["bn/.*"] = dl.TensorLayout(("model",))
    with dl.ModelParallel(layout_map=layout_map, batch_dim_name="batch").scope():
        model, history = train(weights, **FIT)
        predicted = model.predict(XV, batch_size=8, verbose=0)
    kernel = model.get_layer("dense_1").kernel.value
    moving_mean = model.get_layer("bn").moving_mean.value
    slots = jax.tree_util.tree_leaves(model.optimizer.state["slots"])
    kernel_slots = [spec(a) for a in slots if a.shape == kernel.shape]
    return {"loss_diff": max_diff(ref, history), "loss": history["loss"],
            "predict_diff": float(np.max(np.abs(predicted - ref_model.predict(XV, batch_size=8, verbose=0)))),
            "kernel_spec": spec(kernel), "kernel_shard_shape": list(kernel.addressable_shards[0].data.shape),
            "kernel_shape": list(kernel.shape), "moving_mean_spec": spec(moving_mean),
            "bias2_spec": spec(model.get_layer("dense_2").bias.value), "kernel_slot_specs": kernel_slots}


def streaming():
    """A generator of batches (the prefetch path) gives the same losses under DataParallel."""
    def batches():
        for start in range(0, 96, 16):
            yield X[start:start + 16], Y[start:start + 16]

    weights = build(batch_norm=False).get_weights()
    model = build(batch_norm=False)
    model.set_weights(weights)
    keras.random.set_seed(7)
    ref = model.fit(batches(), epochs=1, shuffle=False, verbose=0).history["loss"]
    with dl.DataParallel().scope():
        model = build(batch_norm=False)
        model.set_weights(weights)
        keras.random.set_seed(7)
        loss = model.fit(batches(), epochs=1, shuffle=False, verbose=0).history["loss"]
        kernel = model.get_layer("dense_1").kernel.value
    return {"loss_diff": abs(ref[0] - loss[0]), "kernel_devices": len(kernel.sharding.device_set)}


def indivisible_batch():
    """batch_size=12 on 8 devices is refused; one batch holding all the data (train_on_batch) is not."""
    result = {}
    try:
        sharding.data_sharding((12, 16), dl.DataParallel())
    except ValueError as e:
        result["data_sharding_error"] = str(e)
    with dl.DataParallel().scope():
        model = build(batch_norm=False)
        try:
            model.fit(X, Y, batch_size=12, epochs=1, verbose=0)
        except ValueError as e:
            result["fit_error"] = str(e)
        keras.random.set_seed(3)
        logs = model.train_on_batch(X[:10], Y[:10], return_dict=True)
    ref = build(batch_norm=False)
    keras.random.set_seed(3)
    ref_logs = ref.train_on_batch(X[:10], Y[:10], return_dict=True)
    result["train_on_batch_loss_diff"] = abs(logs["loss"] - ref_logs["loss"])
    return result


def bad_layouts():
    """A key that matches no weight warns, naming it; a layout of the wrong rank is an error naming the weight."""
    mesh = dl.DeviceMesh((2, 4), ("batch", "model"))
    result = {}
    layout_map = dl.LayoutMap(mesh)
    layout_map["dense.*kernel"] = (None, "model")
    layout_map["conv2d.*kernel"] = (None, None, None, "model")
    with dl.ModelParallel(layout_map=layout_map).scope(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build(batch_norm=False).fit(X, Y, batch_size=16, epochs=1, verbose=0)
    result["warnings"] = [str(w.message) for w in caught if "LayoutMap" in str(w.message)]
    layout_map = dl.LayoutMap(mesh)
    layout_map["dense_1/bias"] = (None, "model")
    with dl.ModelParallel(layout_map=layout_map).scope():
        try:
            build(batch_norm=False).fit(X, Y, batch_size=16, epochs=1, verbose=0)
        except ValueError as e:
            result["rank_error"] = str(e)
    weight = keras.Variable(np.zeros(6, np.float32), name="odd")
    try:
        dl.distributions.check_layout(dl.TensorLayout(("model",), mesh), weight)
    except ValueError as e:
        result["divisibility_error"] = str(e)
    return result


SCENARIOS = {f.__name__: f for f in (data_parallel, model_parallel, streaming, indivisible_batch, bad_layouts)}


def main(names: list[str]) -> None:
    assert jax.device_count() == 8, jax.devices()
    for name in names or list(SCENARIOS):
        try:
            line = {"name": name, "result": SCENARIOS[name]()}
        except Exception as e:  # reported to the test, which fails with the message
            line = {"name": name, "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
