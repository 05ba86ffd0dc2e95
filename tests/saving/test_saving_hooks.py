"""Keras' saving hooks round-trip, and cross between kgraph and Keras 3 in both directions (real `.keras` files).

Each layer needs its hook to load at all: a variable saved under its own key (`save_own_variables` /
`load_own_variables`), constants kept in an asset file rather than the config (`save_assets` / `load_assets`),
and weights whose shape comes from a custom build config, not the input shape (`get_build_config` /
`build_from_config`).
"""

import os
import zipfile

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import kgraph  # noqa: E402

OFFSETS = np.array([0.5, -1.0, 2.0], np.float32)


def hook_layers(lib):
    register = lib.saving.register_keras_serializable(package="hooks")

    @register
    class Scale(lib.layers.Layer):
        """Multiplies by a Variable kept as an attribute, saved under the key "scale"."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.scale = lib.Variable(np.ones((3,), np.float32), name="scale")

        def call(self, x):
            return x * self.scale

        def save_own_variables(self, store):
            store["scale"] = np.asarray(self.scale.numpy() if hasattr(self.scale, "numpy") else self.scale)

        def load_own_variables(self, store):
            self.scale.assign(np.asarray(store["scale"]))

    @register
    class Offsets(lib.layers.Layer):
        """Adds constants that live in an asset file, not in the config."""

        def __init__(self, offsets=None, **kwargs):
            super().__init__(**kwargs)
            self.offsets = np.zeros(3, np.float32) if offsets is None else np.asarray(offsets, np.float32)

        def get_config(self):
            return super().get_config()  # the offsets travel as an asset, not in the config

        def call(self, x):
            return x + self.offsets

        def save_assets(self, dir_path):
            np.savetxt(os.path.join(dir_path, "offsets.txt"), self.offsets)

        def load_assets(self, dir_path):
            self.offsets = np.loadtxt(os.path.join(dir_path, "offsets.txt")).astype(np.float32)

    @register
    class Buckets(lib.layers.Layer):
        """A table whose size `adapt` sets: only the build config can recreate it."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.buckets = None

        def adapt(self, buckets):
            self.buckets = buckets
            self.table = self.add_weight(shape=(buckets,), initializer="ones", name="table")
            self.built = True

        def build(self, input_shape):
            if self.buckets is None:
                raise ValueError("Buckets: call adapt() before using the layer")

        def get_build_config(self):
            return {"buckets": self.buckets}

        def build_from_config(self, config):
            self.adapt(config["buckets"])

        def call(self, x):
            return x * lib.ops.sum(self.table)

    return Scale, Offsets, Buckets


def build(lib):
    Scale, Offsets, Buckets = hook_layers(lib)
    buckets = Buckets(name="buckets")
    buckets.adapt(4)
    inputs = lib.Input((3,), name="x")
    x = lib.layers.Dense(3, name="dense")(inputs)
    x = Scale(name="scale")(x)
    x = Offsets(OFFSETS, name="offsets")(x)
    model = lib.Model(inputs, buckets(x))
    rng = np.random.default_rng(1)
    model.get_layer("dense").set_weights([rng.normal(size=(3, 3)).astype(np.float32), np.zeros(3, np.float32)])
    model.get_layer("scale").scale.assign(np.array([2.0, 3.0, -1.0], np.float32))
    model.get_layer("buckets").set_weights([np.array([0.25, 0.5, 1.0, 0.75], np.float32)])
    return model


X = np.random.default_rng(2).normal(size=(5, 3)).astype(np.float32)


def predict(model):
    return np.asarray(model.predict(X, verbose=0))


def expected():
    kernel = np.random.default_rng(1).normal(size=(3, 3)).astype(np.float32)
    return ((X @ kernel) * np.array([2.0, 3.0, -1.0], np.float32) + OFFSETS) * 2.5


def check_file(path):
    with zipfile.ZipFile(path) as archive:
        assert "assets/layers/offsets/offsets.txt" in archive.namelist()


@pytest.mark.parametrize("saver, loader", [(kgraph, kgraph), (kgraph, keras), (keras, kgraph)],
                         ids=["kgraph-kgraph", "kgraph-keras", "keras-kgraph"])
def test_hooks_round_trip_and_cross(saver, loader, tmp_path):
    model = build(saver)
    np.testing.assert_allclose(predict(model), expected(), rtol=1e-5, atol=1e-5)
    path = tmp_path / "hooks.keras"
    model.save(path)
    check_file(path)
    hook_layers(loader)
    loaded = loader.saving.load_model(path)
    assert loaded.get_layer("buckets").buckets == 4
    np.testing.assert_array_equal(np.asarray(loaded.get_layer("scale").scale.numpy()), [2.0, 3.0, -1.0])
    np.testing.assert_array_equal(loaded.get_layer("offsets").offsets, OFFSETS)
    np.testing.assert_allclose(predict(loaded), expected(), rtol=1e-5, atol=1e-5)


def test_the_custom_key_is_what_the_weights_file_holds(tmp_path):
    import h5py

    build(kgraph).save_weights(tmp_path / "hooks.weights.h5")
    with h5py.File(tmp_path / "hooks.weights.h5") as f:
        assert list(f["layers/scale/vars"]) == ["scale"]
        np.testing.assert_array_equal(f["layers/scale/vars/scale"][()], [2.0, 3.0, -1.0])
        assert f["layers/buckets/vars/0"].shape == (4,)


def test_a_variable_attribute_is_tracked_and_trains():
    class Bias(kgraph.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.bias = kgraph.Variable(np.zeros((3,), np.float32), name="bias")

        def call(self, x):
            return x + self.bias

    inputs = kgraph.Input((3,))
    model = kgraph.Model(inputs, Bias()(inputs))
    assert [v.name for v in model.trainable_weights] == ["bias"]
    model.compile(kgraph.optimizers.SGD(0.5), "mse")
    model.fit(np.zeros((4, 3), np.float32), np.ones((4, 3), np.float32), epochs=3, verbose=0)
    assert np.all(np.asarray(model.trainable_weights[0].numpy()) > 0.5)
