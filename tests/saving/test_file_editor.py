"""KerasFileEditor against Keras 3's: the same weight trees, comparisons and edits, on real files both load."""

import keras
import numpy as np
import pytest

import kgraph
from kgraph.saving import KerasFileEditor


def _model(module, units=(4, 2)):
    layers = [module.Input((3,))]
    layers += [module.layers.Dense(u, name=f"dense_{i}") for i, u in enumerate(units)]
    return module.Sequential(layers, name="seq")


def _assert_same_tree(ours, theirs):
    assert list(ours) == list(theirs)
    for key in ours:
        if isinstance(ours[key], dict):
            _assert_same_tree(ours[key], theirs[key])
        else:
            np.testing.assert_array_equal(ours[key], theirs[key])


@pytest.fixture
def saved(tmp_path):
    kgraph.utils.set_random_seed(0)
    model = _model(kgraph)
    path = tmp_path / "model.keras"
    model.save(path)
    return model, path


def test_reads_the_same_tree_as_keras(saved, tmp_path):
    model, path = saved
    ours, theirs = KerasFileEditor(path), keras.saving.KerasFileEditor(str(path))
    _assert_same_tree(ours.weights_dict, theirs.weights_dict)
    assert ours.config == theirs.config and ours.metadata == theirs.metadata
    weights = tmp_path / "model.weights.h5"
    model.save_weights(weights)
    _assert_same_tree(KerasFileEditor(weights).weights_dict, keras.saving.KerasFileEditor(str(weights)).weights_dict)


@pytest.mark.parametrize(("units", "errors", "matches"), [((4, 2), 0, 4), ((4, 5), 2, 2), ((4,), 1, 2)])
def test_compare_finds_what_keras_finds(saved, units, errors, matches):
    _, path = saved
    ours = KerasFileEditor(path).compare(_model(kgraph, units))
    theirs = keras.saving.KerasFileEditor(str(path)).compare(_model(keras, units))
    assert ours["status"] == theirs["status"] == ("success" if errors == 0 else "error")
    # Keras 3.15 adds each object's running count to its parent's again; kgraph counts each weight once.
    assert (ours["error_count"], ours["match_count"]) == (errors, matches)


def test_edits_save_a_file_keras_and_kgraph_load(saved, tmp_path):
    model, path = saved
    editor = KerasFileEditor(path)
    editor.summary()
    new_kernel, new_bias = np.ones((4, 5), "float32"), np.zeros(5, "float32")
    editor.delete_object("layers/dense_1")
    editor.add_object("layers/dense_1", {"0": new_kernel, "1": new_bias})
    out = tmp_path / "edited.weights.h5"
    editor.save(out)
    for module in (kgraph, keras):
        target = _model(module, (4, 5))
        target.load_weights(out)
        np.testing.assert_array_equal(target.get_weights()[0], model.get_weights()[0])
        np.testing.assert_array_equal(target.get_weights()[2], new_kernel)
    assert KerasFileEditor(out).compare(_model(kgraph, (4, 5)))["status"] == "success"


def test_rename_and_weight_edits_and_their_errors(saved, tmp_path):
    _, path = saved
    editor = KerasFileEditor(path)
    editor.rename_object("dense", "first")  # objects are named by class in the file, as Keras names them
    assert list(editor.weights_dict["layers"]) == ["dense_1", "first"]
    editor.delete_weight("layers/first", "1")
    editor.add_weights("first", {"1": np.full(4, 2.0, "float32")})
    np.testing.assert_array_equal(editor.weights_dict["layers"]["first"]["1"], np.full(4, 2.0))
    with pytest.raises(ValueError, match="not found in model"):
        editor.delete_object("layers/missing")
    with pytest.raises(ValueError, match="does not appear"):
        editor.rename_object("missing", "x")
    with pytest.raises(ValueError, match="Weight 7 not found"):
        editor.delete_weight("first", "7")
    with pytest.raises(ValueError, match="should be a dict"):
        editor.add_weights("first", [1])
    with pytest.raises(ValueError, match="`.weights.h5` extension"):
        editor.save(tmp_path / "edited.keras")
    with pytest.raises(ValueError, match="Invalid filename"):
        KerasFileEditor(tmp_path / "model.h5")
