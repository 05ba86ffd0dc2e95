"""`.keras` files: layout, compile config, optimizer state, and training that continues exactly after loading."""

import json
import zipfile

import io

import h5py
import jax
import numpy as np
import pytest

import kgraph
from kgraph import saving

rng = np.random.default_rng(0)
X = rng.random((96, 6), dtype=np.float32)
Y = rng.integers(0, 3, 96)


def make_model(seed=3):
    kgraph.utils.set_random_seed(seed)
    inputs = kgraph.Input((6,), name="features")
    hidden = kgraph.layers.Dropout(0.3)(kgraph.layers.Dense(16, activation="relu")(inputs))
    model = kgraph.Model(inputs, kgraph.layers.Dense(3, activation="softmax")(hidden))
    model.compile(optimizer=kgraph.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], loss_weights=[1.0])
    return model


class BatchLosses(kgraph.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One trained model and the `.keras` file it saved, shared by the tests that only read them."""
    model = make_model()
    model.fit(X, Y, batch_size=32, epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("trained") / "m.keras"
    model.save(path)
    return model, path


def test_archive_members_and_config(trained):
    model, path = trained
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        metadata = json.loads(archive.read("metadata.json"))
        config = json.loads(archive.read("config.json"))
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")))
    assert metadata["keras_version"] == kgraph.__version__ and metadata["producer"] == "kgraph"
    assert "date_saved" in metadata and metadata["format_version"] == 1
    assert config["class_name"] == "Functional" and config["registered_name"] == "Functional"
    compile_config = config["compile_config"]
    assert compile_config["optimizer"]["class_name"] == "Adam"
    assert compile_config["optimizer"]["config"]["learning_rate"] == pytest.approx(2e-3)
    assert compile_config["loss"] == "sparse_categorical_crossentropy"
    assert compile_config["metrics"] == ["accuracy"] and compile_config["loss_weights"] == [1.0]
    with weights:
        assert weights["layers/dense/vars"].attrs["name"] == model.layers[1].name
        assert weights["layers/dense/vars/0"].shape == (6, 16) and weights["layers/dense_1/vars/1"].shape == (3,)
        assert "layers/dropout/vars" in weights and "layers/input_layer/vars" in weights
        optimizer = weights["optimizer/vars"]
        assert len(optimizer) == 2 + 2 * 4 and int(optimizer["0"][()]) == 3  # iterations, lr, (m, v) per weight
        assert optimizer["2"].shape == (6, 16) and optimizer["3"].shape == (6, 16)


def test_load_returns_compiled_model_with_optimizer_state(trained):
    model, path = trained
    loaded = saving.load_model(path)
    assert loaded.compiled and isinstance(loaded.optimizer, kgraph.optimizers.Adam)
    assert loaded.optimizer.iterations == 3 and loaded.optimizer.learning_rate == pytest.approx(2e-3)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    leaves = jax.tree_util.tree_leaves
    for a, b in zip(leaves(loaded.optimizer.state), leaves(model.optimizer.state)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    uncompiled = saving.load_model(path, compile=False)
    assert not uncompiled.compiled


def test_training_continues_exactly_after_load(tmp_path):
    reference, reference_losses = make_model(), BatchLosses()
    reference.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[reference_losses])
    first = make_model()
    first.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[BatchLosses()])
    first.save(tmp_path / "half.keras")
    del first
    resumed, resumed_losses = saving.load_model(tmp_path / "half.keras"), BatchLosses()
    resumed.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[resumed_losses])
    assert resumed_losses.losses == reference_losses.losses[6:]
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_unzipped_folder(trained, tmp_path):
    model, _ = trained
    model.save(tmp_path / "folder", zipped=False)
    assert sorted(p.name for p in (tmp_path / "folder").iterdir()) == ["config.json", "metadata.json",
                                                                      "model.weights.h5"]
    loaded = saving.load_model(tmp_path / "folder")
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.save(tmp_path / "folder", zipped=False)  # overwrites in place
    assert saving.load_model(tmp_path / "folder").optimizer.iterations == 3


def test_overwrite_false_and_extension(trained, tmp_path):
    model, _ = trained
    model.save(tmp_path / "m.keras")
    with pytest.raises(FileExistsError, match="m.keras"):
        model.save(tmp_path / "m.keras", overwrite=False)
    with pytest.raises(ValueError, match=r"\.keras"):
        model.save(tmp_path / "m.zip")


def test_sequential_and_compile_objects(tmp_path):
    model = kgraph.Sequential([kgraph.Input((4,)), kgraph.layers.Dense(3), kgraph.layers.Dense(2)])
    model.compile(optimizer=kgraph.optimizers.SGD(0.05, momentum=0.9), loss=kgraph.losses.Huber(delta=0.5),
                  metrics=[kgraph.metrics.MeanAbsoluteError(), "mse"])
    x, y = rng.random((32, 4), dtype=np.float32), rng.random((32, 2), dtype=np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "s.keras")
    loaded = saving.load_model(tmp_path / "s.keras")
    assert isinstance(loaded, kgraph.Sequential)
    assert isinstance(loaded.optimizer, kgraph.optimizers.SGD) and loaded.optimizer.get_config()["momentum"] == 0.9
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_multi_output_dict_model(tmp_path):
    a, b = kgraph.Input((4,), name="a"), kgraph.Input((2,), name="b")
    h = kgraph.layers.Dense(8, activation="relu")(kgraph.layers.Concatenate()([a, b]))
    model = kgraph.Model({"a": a, "b": b}, {"reg": kgraph.layers.Dense(1, name="reg")(h),
                                            "cls": kgraph.layers.Dense(2, activation="softmax", name="cls")(h)})
    model.compile("adam", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights={"reg": 0.5, "cls": 1.0}, metrics={"cls": ["accuracy"]})
    x = {"a": rng.random((16, 4), dtype=np.float32), "b": rng.random((16, 2), dtype=np.float32)}
    model.save(tmp_path / "d.keras")
    loaded = saving.load_model(tmp_path / "d.keras")
    assert loaded._compile_args["loss"] == {"reg": "mse", "cls": "sparse_categorical_crossentropy"}
    assert loaded._compile_args["loss_weights"] == {"reg": 0.5, "cls": 1.0}
    assert loaded._compile_args["metrics"] == {"cls": ["accuracy"]}
    expected, got = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    for key in ("reg", "cls"):
        np.testing.assert_array_equal(got[key], expected[key])


def test_custom_registered_layer_round_trip(tmp_path):
    @saving.register_keras_serializable(package="kgraph_file_tests")
    class Affine(kgraph.layers.Layer):
        def __init__(self, units=2, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")
            self.b = self.add_weight(shape=(self.units,), initializer="ones", name="b")

        def call(self, x):
            return kgraph.ops.matmul(x, self.w) + self.b

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    x = kgraph.Input((3,))
    model = kgraph.Model(x, Affine(4)(x))
    model.save(tmp_path / "c.keras")
    loaded = saving.load_model(tmp_path / "c.keras")
    data = rng.random((2, 3), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), model.predict(data, verbose=0))


def test_subclassed_model_round_trip(tmp_path):
    @saving.register_keras_serializable(package="kgraph_file_tests")
    class TwoLayers(kgraph.Model):
        def __init__(self, hidden=5, **kwargs):
            super().__init__(**kwargs)
            self.hidden = hidden
            self.first = kgraph.layers.Dense(hidden, activation="relu")
            self.second = kgraph.layers.Dense(1)

        def call(self, inputs, training=None):
            return self.second(self.first(inputs))

        def get_config(self):
            return {**super().get_config(), "hidden": self.hidden}

    model = TwoLayers(hidden=6)
    model.compile("adam", "mse")
    x, y = rng.random((16, 3), dtype=np.float32), rng.random((16, 1), dtype=np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "sub.keras")
    with zipfile.ZipFile(tmp_path / "sub.keras") as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")))
        # Keras' walk: attribute `first`, then `layers` (before `second` alphabetically) holds the second Dense
        assert weights["first/vars/0"].shape == (3, 6) and weights["layers/dense_1/vars/0"].shape == (6, 1)
        config = json.loads(archive.read("config.json"))
        assert config["build_config"] == {"input_shape": [None, 3]}
    loaded = saving.load_model(tmp_path / "sub.keras")
    assert isinstance(loaded, TwoLayers) and loaded.hidden == 6 and loaded.optimizer.iterations == 1
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
