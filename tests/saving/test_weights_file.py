"""`.weights.h5`: Keras' layout, strict structural loading, `by_name`, `skip_mismatch`, legacy `.h5` weights."""

import h5py
import numpy as np
import pytest

import kgraph
from kgraph import saving

rng = np.random.default_rng(0)


def mlp(units=(4, 3), names=None, seed=0):
    kgraph.utils.set_random_seed(seed)
    inputs = kgraph.Input((5,), name="x")
    x = inputs
    for i, u in enumerate(units):
        x = kgraph.layers.Dense(u, name=names[i] if names else None)(x)
    return kgraph.Model(inputs, x)


def assert_weights_equal(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_layout_is_keras(tmp_path):
    model = mlp(names=["first", "second"])
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5") as f:
        assert f["vars"].attrs["name"] == model.name
        assert f["layers/dense/vars"].attrs["name"] == "first" and f["layers/dense_1/vars"].attrs["name"] == "second"
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], model.get_layer("first").get_weights()[0])
        assert "optimizer" not in f  # not compiled


def test_round_trip_into_a_fresh_model_with_other_names(tmp_path):
    source = mlp(seed=1)
    source.save_weights(tmp_path / "m.weights.h5")
    target = mlp(seed=2)
    assert target.layers[1].name != source.layers[1].name
    target.load_weights(tmp_path / "m.weights.h5")
    assert_weights_equal(target.get_weights(), source.get_weights())


def test_filename_must_end_in_weights_h5(tmp_path):
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        mlp().save_weights(tmp_path / "m.h5")
    with pytest.raises(FileExistsError):
        model = mlp()
        model.save_weights(tmp_path / "a.weights.h5")
        model.save_weights(tmp_path / "a.weights.h5", overwrite=False)


def test_extra_layers_in_the_file_are_an_error_unless_skipped(tmp_path):
    mlp(units=(4, 3, 2)).save_weights(tmp_path / "big.weights.h5")
    small = mlp(units=(4, 3))
    before = small.get_weights()
    with pytest.raises(ValueError, match="no layer of the model takes"):
        small.load_weights(tmp_path / "big.weights.h5")
    assert_weights_equal(small.get_weights(), before)
    with pytest.warns(UserWarning, match="no layer of the model takes"):
        small.load_weights(tmp_path / "big.weights.h5", skip_mismatch=True)


def test_skip_mismatch_loads_what_fits(tmp_path):
    source = mlp(units=(4, 3), names=["a", "b"], seed=1)
    source.save_weights(tmp_path / "m.weights.h5")
    target = mlp(units=(4, 7), names=["a", "b"], seed=2)
    kept = target.get_layer("b").get_weights()
    with pytest.warns(UserWarning, match=r"'b'.*\(4, 7\).*\(4, 3\)"):
        target.load_weights(tmp_path / "m.weights.h5", skip_mismatch=True)
    assert_weights_equal(target.get_layer("a").get_weights(), source.get_layer("a").get_weights())
    assert_weights_equal(target.get_layer("b").get_weights(), kept)


def test_by_name_loads_matching_layers_of_another_architecture(tmp_path):
    source = mlp(units=(4, 3), names=["shared_a", "only_in_source"], seed=1)
    source.save_weights(tmp_path / "m.weights.h5")
    inputs = kgraph.Input((5,))
    x = kgraph.layers.Dense(6, name="new_first")(inputs)
    target = kgraph.Model(inputs, kgraph.layers.Dense(4, name="shared_a")(kgraph.layers.Dense(5)(x)))
    # "shared_a" here is (5, 4) while the source's is (5, 4) too: same shapes, loaded by name, not position
    target.load_weights(tmp_path / "m.weights.h5", by_name=True)
    assert_weights_equal(target.get_layer("shared_a").get_weights(), source.get_layer("shared_a").get_weights())


def test_by_name_shape_mismatch_raises_or_skips(tmp_path):
    mlp(units=(4, 3), names=["a", "b"], seed=1).save_weights(tmp_path / "m.weights.h5")
    target = mlp(units=(4, 9), names=["a", "b"], seed=2)
    before = target.get_weights()
    with pytest.raises(ValueError, match=r"Dense 'b'.*'kernel'.*\(4, 9\).*\(4, 3\)"):
        target.load_weights(tmp_path / "m.weights.h5", by_name=True)
    assert_weights_equal(target.get_weights(), before)
    with pytest.warns(UserWarning):
        target.load_weights(tmp_path / "m.weights.h5", by_name=True, skip_mismatch=True)
    assert not np.array_equal(target.get_layer("a").get_weights()[0], before[0])


def test_nested_model_weights(tmp_path):
    inner_in = kgraph.Input((5,))
    inner = kgraph.Model(inner_in, kgraph.layers.Dense(3)(inner_in), name="inner")
    x = kgraph.Input((5,))
    model = kgraph.Model(x, kgraph.layers.Dense(2)(inner(x)))
    model.save_weights(tmp_path / "n.weights.h5")
    with h5py.File(tmp_path / "n.weights.h5") as f:
        assert f["layers/functional/layers/dense/vars/0"].shape == (5, 3)
    clone_in = kgraph.Input((5,))
    clone_inner = kgraph.Model(clone_in, kgraph.layers.Dense(3)(clone_in))
    y = kgraph.Input((5,))
    clone = kgraph.Model(y, kgraph.layers.Dense(2)(clone_inner(y)))
    clone.load_weights(tmp_path / "n.weights.h5")
    assert_weights_equal(clone.get_weights(), model.get_weights())


def test_optimizer_state_travels_with_compiled_weights(tmp_path):
    model = mlp(seed=1)
    model.compile("adam", "mse")
    x, y = rng.random((8, 5), np.float32), rng.random((8, 3), np.float32)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    model.save_weights(tmp_path / "c.weights.h5")
    with h5py.File(tmp_path / "c.weights.h5") as f:
        assert int(f["optimizer/vars/0"][()]) == 4
    other = mlp(seed=2)
    other.compile("adam", "mse")
    other.load_weights(tmp_path / "c.weights.h5")
    assert other.optimizer.iterations == 4
    assert_weights_equal(other.get_weights(), model.get_weights())


def test_load_weights_from_a_keras_file(tmp_path):
    model = mlp(seed=1)
    saving.save_model(model, tmp_path / "m.keras")
    other = mlp(seed=2)
    other.load_weights(tmp_path / "m.keras")
    assert_weights_equal(other.get_weights(), model.get_weights())


def _write_legacy(path, model, names=None):
    """Keras' legacy h5 weights layout, as `legacy_h5_format.save_weights_to_hdf5_group` writes it."""
    with h5py.File(path, "w") as f:
        layers = model.layers
        f.attrs["layer_names"] = [(names or {}).get(l.name, l.name).encode() for l in layers]
        f.attrs["backend"], f.attrs["keras_version"] = b"tensorflow", b"2.15.0"
        for layer in layers:
            group = f.create_group((names or {}).get(layer.name, layer.name))
            weights = layer.trainable_weights + layer.non_trainable_weights
            group.attrs["weight_names"] = [f"{w.path}:0".encode() for w in weights]
            for w in weights:
                group.create_dataset(f"{w.path}:0", data=w.numpy())


def test_legacy_h5_weights_topological_and_by_name(tmp_path):
    source = mlp(names=["d1", "d2"], seed=1)
    _write_legacy(tmp_path / "old.h5", source)
    target = mlp(names=["e1", "e2"], seed=2)
    target.load_weights(tmp_path / "old.h5")
    assert_weights_equal(target.get_weights(), source.get_weights())
    partial = mlp(units=(4, 8), names=["d1", "other"], seed=3)
    partial.load_weights(tmp_path / "old.h5", by_name=True)
    assert_weights_equal(partial.get_layer("d1").get_weights(), source.get_layer("d1").get_weights())


def test_legacy_h5_written_by_keras_loads(tmp_path):
    keras = pytest.importorskip("keras")
    from keras.src.legacy.saving import legacy_h5_format

    theirs = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, name="a"), keras.layers.Dense(3, name="b")])
    with h5py.File(tmp_path / "keras_legacy.h5", "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, theirs)
    ours = kgraph.Sequential([kgraph.Input((5,)), kgraph.layers.Dense(4, name="a"), kgraph.layers.Dense(3, name="b")])
    ours.load_weights(tmp_path / "keras_legacy.h5")
    assert_weights_equal(ours.get_weights(), [np.asarray(w) for w in theirs.get_weights()])
