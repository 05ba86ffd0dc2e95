"""kgraph.utils.FeatureSpace against keras.utils.FeatureSpace: the same config adapted on the same data gives the
same encoded arrays; the "Structured data classification with FeatureSpace" example runs end to end on a
synthetic heart-disease-like table; `.keras` files cross both ways."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgraph
from kgraph.utils import FeatureSpace

ROWS = 96
_rng = np.random.default_rng(7)
# The example's columns and kinds: integer categories, one string category, floats to normalize or discretize.
HEART = {
    "age": _rng.integers(29, 78, ROWS), "sex": _rng.integers(0, 2, ROWS), "cp": _rng.integers(0, 5, ROWS),
    "trestbps": _rng.integers(94, 200, ROWS), "chol": _rng.integers(126, 564, ROWS), "fbs": _rng.integers(0, 2, ROWS),
    "restecg": _rng.integers(0, 3, ROWS), "thalach": _rng.integers(71, 202, ROWS), "exang": _rng.integers(0, 2, ROWS),
    "oldpeak": _rng.uniform(0, 6.2, ROWS).round(1), "slope": _rng.integers(1, 4, ROWS), "ca": _rng.integers(0, 4, ROWS),
    "thal": _rng.choice(["normal", "fixed", "reversible"], ROWS),
}
TARGET = (HEART["age"] + 20 * HEART["exang"] > 70).astype("int64")


def example_features(lib):
    """The example's customized FeatureSpace (num_oov_indices=0, custom bins and crosses), built from `lib`."""
    fs = lib.utils.FeatureSpace
    return dict(
        features={**{name: fs.integer_categorical(num_oov_indices=0)
                     for name in ("sex", "cp", "fbs", "restecg", "exang", "ca")},
                  "thal": fs.string_categorical(num_oov_indices=0), "age": fs.float_discretized(num_bins=30),
                  **{name: fs.float_normalized() for name in ("trestbps", "chol", "thalach", "oldpeak", "slope")}},
        crosses=[fs.cross(feature_names=("sex", "age"), crossing_dim=64),
                 fs.cross(feature_names=("thal", "ca"), crossing_dim=16)],
        output_mode="concat")


def every_kind(lib, cross_mode="int"):
    """One feature of each kind, by spec and by name, and two crosses (the second in `cross_mode`)."""
    fs = lib.utils.FeatureSpace
    return dict(
        features={"f": fs.float(), "r": fs.float_rescaled(scale=0.5, offset=1.0), "n": "float_normalized",
                  "d": fs.float_discretized(num_bins=4), "i": "integer_categorical",
                  "s": fs.string_categorical(max_tokens=3), "sh": fs.string_hashed(num_bins=8),
                  "ih": "integer_hashed"},
        crosses=[("i", "s"), fs.cross(("s", "ih"), crossing_dim=8, output_mode=cross_mode)],
        crossing_dim=16, hashing_dim=5)


KIND_DATA = {"f": _rng.normal(size=40).astype("float32"), "r": _rng.normal(size=40).astype("float32"),
             "n": _rng.normal(3, 2, size=40).astype("float32"), "d": _rng.uniform(0, 10, size=40).astype("float32"),
             "i": _rng.integers(0, 6, 40), "s": _rng.choice(["a", "b", "c", "d", "e"], 40),
             "sh": _rng.choice(["x", "y", "z"], 40), "ih": _rng.integers(0, 100, 40)}


def adapted(lib, spec, data, *args, **overrides):
    feature_space = lib.utils.FeatureSpace(**{**spec(lib, *args), **overrides})
    feature_space.adapt(tf.data.Dataset.from_tensor_slices(data).batch(16))
    return feature_space


@pytest.mark.parametrize("output_mode", ["concat", "dict"])
def test_every_feature_kind_encodes_as_keras(output_mode):
    cross_mode = "int" if output_mode == "dict" else "one_hot"
    ours = adapted(kgraph, every_kind, KIND_DATA, cross_mode, output_mode=output_mode)
    theirs = adapted(keras, every_kind, KIND_DATA, cross_mode, output_mode=output_mode)
    got, want = ours(KIND_DATA), theirs(KIND_DATA)
    if output_mode == "dict":
        assert sorted(got) == sorted(want)
        for name in want:
            np.testing.assert_allclose(np.asarray(got[name]), np.asarray(want[name]), rtol=1e-6, err_msg=name)
    else:
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    single = {name: values[0] for name, values in KIND_DATA.items()}  # one unbatched sample
    np.testing.assert_allclose(np.asarray(tree_concat(ours(single))), np.asarray(tree_concat(theirs(single))),
                               rtol=1e-6)


def tree_concat(x):
    return np.concatenate([np.ravel(np.asarray(x[k])) for k in sorted(x)]) if isinstance(x, dict) else x


@pytest.mark.slow
def test_the_structured_data_example_runs_end_to_end():
    frame = tf.data.Dataset.from_tensor_slices((HEART, TARGET))
    train_ds, val_ds = frame.take(76).shuffle(76, seed=1).batch(32), frame.skip(76).batch(32)
    feature_space = FeatureSpace(**example_features(kgraph))
    feature_space.adapt(train_ds.map(lambda x, _: x))
    for x, _ in train_ds.take(1):
        preprocessed = feature_space(x)
    reference = adapted(keras, example_features, {k: v[:76] for k, v in HEART.items()})
    assert preprocessed.shape == (32, reference.get_encoded_features().shape[-1])

    preprocessed_train_ds = train_ds.map(lambda x, y: (feature_space(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    preprocessed_val_ds = val_ds.map(lambda x, y: (feature_space(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    dict_inputs = feature_space.get_inputs()
    encoded_features = feature_space.get_encoded_features()
    x = kgraph.layers.Dense(32, activation="relu")(encoded_features)
    x = kgraph.layers.Dropout(0.5)(x)
    predictions = kgraph.layers.Dense(1, activation="sigmoid")(x)
    training_model = kgraph.Model(inputs=encoded_features, outputs=predictions)
    training_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    inference_model = kgraph.Model(inputs=dict_inputs, outputs=predictions)
    history = training_model.fit(preprocessed_train_ds, epochs=2, validation_data=preprocessed_val_ds, verbose=0)
    assert np.isfinite(history.history["val_loss"]).all()

    sample = {"age": 60, "sex": 1, "cp": 1, "trestbps": 145, "chol": 233, "fbs": 1, "restecg": 2, "thalach": 150,
              "exang": 0, "oldpeak": 2.3, "slope": 3, "ca": 0, "thal": "fixed"}
    input_dict = {name: tf.convert_to_tensor([value]) for name, value in sample.items()}
    end_to_end = inference_model.predict(input_dict, verbose=0)
    two_steps = training_model.predict(np.asarray(feature_space(input_dict)), verbose=0)
    assert end_to_end.shape == (1, 1)
    np.testing.assert_allclose(end_to_end, two_steps, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(inference_model(input_dict)), end_to_end, rtol=1e-5)


def test_keras_files_cross_both_ways(tmp_path):
    ours = adapted(kgraph, example_features, HEART)
    theirs = adapted(keras, example_features, HEART)
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    want = np.asarray(theirs(HEART))
    # Normalization's adapted mean/variance agree to float32 rounding, not bit for bit.
    np.testing.assert_allclose(np.asarray(keras.saving.load_model(tmp_path / "ours.keras")(HEART)), want, atol=1e-6)
    np.testing.assert_allclose(np.asarray(kgraph.saving.load_model(tmp_path / "theirs.keras")(HEART)), want,
                               atol=1e-6)
    assert kgraph.utils.FeatureSpace.from_config(ours.get_config()).get_config() == ours.get_config()


def test_clear_errors():
    with pytest.raises(ValueError, match="Invalid feature type"):
        FeatureSpace(features={"a": "floaty"})
    with pytest.raises(ValueError, match="output_mode"):
        FeatureSpace(features={"a": "float"}, output_mode="list")
    with pytest.raises(ValueError, match="unknown features"):
        FeatureSpace(features={"a": "integer_categorical"}, crosses=[("a", "b")])
    unadapted = FeatureSpace(features={"a": "float_normalized"})
    with pytest.raises(ValueError, match="adapt"):
        unadapted({"a": [1.0]})
    with pytest.raises(ValueError, match="only be called with a dict"):
        adapted(kgraph, every_kind, KIND_DATA, "one_hot")(np.zeros(3))


def test_adapting_again_uses_the_new_statistics_as_keras_does():
    """A second adapt changes vocabularies and statistics; one-hot widths stay those of the first use (as in Keras)."""
    first = {"s": np.array(["a", "b", "b"]), "n": np.array([1.0, 2.0, 3.0], "float32")}
    second = {"s": np.array(["x", "y", "y", "z"]), "n": np.array([10.0, 0.0, 4.0, 2.0], "float32")}
    results = []
    for lib in (kgraph, keras):
        feature_space = lib.utils.FeatureSpace(features={"s": "string_categorical", "n": "float_normalized"})
        feature_space.adapt(first)
        feature_space(first)
        feature_space.adapt(second)
        results.append(np.asarray(feature_space(second)))
    np.testing.assert_allclose(*results, rtol=1e-6)


def test_end_to_end_models_refuse_what_they_cannot_do(tmp_path):
    feature_space = adapted(kgraph, every_kind, KIND_DATA, "one_hot")
    outputs = kgraph.layers.Dense(1)(feature_space.get_encoded_features())
    model = kgraph.Model(feature_space.get_inputs(), outputs)
    model.save(tmp_path / "end_to_end.keras")
    with pytest.raises(ValueError, match="not reloaded from a .keras file"):
        kgraph.saving.load_model(tmp_path / "end_to_end.keras")
    numbers = kgraph.Input(shape=(1,), name="n")
    fed = adapted(kgraph, lambda lib: {"features": {"n": "float_normalized"}}, {"n": KIND_DATA["n"]})
    with pytest.raises(ValueError, match="must take the model's inputs directly"):
        kgraph.Model(numbers, fed({"n": kgraph.layers.Dense(1)(numbers)}))


def test_dict_mode_end_to_end_model_matches_its_two_halves():
    feature_space = adapted(kgraph, every_kind, KIND_DATA, "int", output_mode="dict")
    encoded = feature_space.get_encoded_features()
    floats = [kgraph.ops.cast(encoded[key], "float32") for key in sorted(encoded)]
    outputs = kgraph.layers.Dense(2)(kgraph.layers.Concatenate()(floats))
    end_to_end = kgraph.Model(feature_space.get_inputs(), outputs)
    on_encoded = kgraph.Model(encoded, outputs)
    want = on_encoded.predict({key: np.asarray(v) for key, v in feature_space(KIND_DATA).items()}, verbose=0)
    np.testing.assert_allclose(end_to_end.predict(KIND_DATA, verbose=0), want, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(end_to_end(KIND_DATA)), want, rtol=1e-5)
