"""StringLookup, IntegerLookup, TextVectorization, Hashing, HashedCrossing, CategoryEncoding and Discretization:
eager outputs, learned vocabularies and configs equal to Keras 3's; the numeric ones inside models (XLA and ONNX
Runtime); tf.data and PyDataset pipelines; vocabulary assets crossing both ways; clear errors for strings in
compiled models."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgraph
from tests.layers.config_parity import assert_config_matches_keras
from tests.layers.parity import check_layer

WORDS = np.array([["a", "b", "c"], ["b", "b", "zz"]])
INTS = np.array([[12, 1138, 42, 42], [42, 7, 36, 7]])
TEXTS = np.array(["The quick brown fox.", "the lazy dog, the END!", "a fox"])
VALUES = np.random.default_rng(0).normal(size=(100, 3)).astype("float32")
VOCAB = [12, 36, 1138, 42]

# (id, factory, data to adapt on or None, input)
CASES = [
    ("string_adapt", lambda lib: lib.layers.StringLookup(), np.array(["a", "b", "b", "c", "c", "c"]), WORDS),
    ("string_oov_mask", lambda lib: lib.layers.StringLookup(vocabulary=["x", "b"], num_oov_indices=2,
                                                            mask_token="c"), None, WORDS),
    ("string_multi_hot", lambda lib: lib.layers.StringLookup(output_mode="multi_hot"), WORDS, WORDS),
    ("string_tf_idf", lambda lib: lib.layers.StringLookup(output_mode="tf_idf", max_tokens=4), WORDS, WORDS),
    ("string_one_hot_salt", lambda lib: lib.layers.StringLookup(vocabulary=["a"], num_oov_indices=3, salt=7,
                                                                output_mode="one_hot"), None, WORDS[:, :1]),
    ("integer_count", lambda lib: lib.layers.IntegerLookup(vocabulary=VOCAB, output_mode="count"), None, INTS),
    ("integer_adapt", lambda lib: lib.layers.IntegerLookup(max_tokens=4), INTS, INTS),
    ("integer_floormod", lambda lib: lib.layers.IntegerLookup(num_oov_indices=3), np.array([42, 42, 12]), INTS),
    ("integer_invert", lambda lib: lib.layers.IntegerLookup(vocabulary=VOCAB, invert=True), None,
     np.array([[1, 3, 4], [4, 0, 2]])),
    ("integer_tf_idf", lambda lib: lib.layers.IntegerLookup(vocabulary=VOCAB, output_mode="tf_idf",
                                                            idf_weights=[0.25, 0.75, 0.6, 0.4]), None, INTS),
    ("hashing", lambda lib: lib.layers.Hashing(7), None, INTS),
    ("hashing_salt_mask", lambda lib: lib.layers.Hashing(7, salt=3, mask_value="b"), None, WORDS),
    ("hashing_multi_hot", lambda lib: lib.layers.Hashing(7, output_mode="multi_hot"), None, INTS),
    ("category_count", lambda lib: lib.layers.CategoryEncoding(5, output_mode="count"), None,
     np.array([[1, 2, 2], [0, 4, 4]])),
    ("category_one_hot", lambda lib: lib.layers.CategoryEncoding(5, output_mode="one_hot"), None,
     np.array([[1], [3]])),
    ("discretization", lambda lib: lib.layers.Discretization(bin_boundaries=[0.0, 1.5]), None,
     np.array([[-1.0, 0.0, 2.0]])),
    ("discretization_adapt", lambda lib: lib.layers.Discretization(num_bins=4, output_mode="multi_hot"), VALUES,
     VALUES[:5]),
    ("text_int", lambda lib: lib.layers.TextVectorization(), TEXTS, TEXTS),
    ("text_ngrams_length", lambda lib: lib.layers.TextVectorization(output_sequence_length=6, ngrams=2), TEXTS,
     TEXTS),
    ("text_tf_idf", lambda lib: lib.layers.TextVectorization(output_mode="tf_idf", max_tokens=6), TEXTS, TEXTS),
    ("text_count_characters", lambda lib: lib.layers.TextVectorization(output_mode="count", split="character",
                                                                       standardize="lower"), TEXTS, TEXTS),
]


def _made(factory, lib, adapt_data):
    layer = factory(lib)
    if adapt_data is not None:
        layer.adapt(adapt_data)
    return layer


@pytest.mark.parametrize("name,factory,adapt_data,x", CASES, ids=[c[0] for c in CASES])
def test_outputs_vocabularies_and_configs_equal_keras(name, factory, adapt_data, x):
    ours, theirs = _made(factory, kgraph, adapt_data), _made(factory, keras, adapt_data)
    actual, expected = np.asarray(ours(x)), np.asarray(theirs(x))
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-6)
    if hasattr(theirs, "get_vocabulary"):
        assert ours.get_vocabulary() == theirs.get_vocabulary()
    config, keras_config = ours.get_config(), theirs.get_config()
    for key in ("dtype", "name"):
        config.pop(key), keras_config.pop(key)
    assert config == keras_config
    clone = type(ours).from_config(ours.get_config())
    if adapt_data is None:
        np.testing.assert_allclose(np.asarray(clone(x)), expected, rtol=1e-6)


def test_hashed_crossing_and_string_inversion():
    features = [np.array([1, 2, 3]), np.array(["a", "b", "c"])]
    for output_mode in ("int", "one_hot"):
        ours = kgraph.layers.HashedCrossing(9, output_mode=output_mode)(features)
        np.testing.assert_array_equal(np.asarray(ours),
                                      np.asarray(keras.layers.HashedCrossing(9, output_mode=output_mode)(features)))
    inverse = kgraph.layers.StringLookup(vocabulary=["a", "b"], invert=True)(np.array([[0, 1, 2, 3]]))
    assert inverse.tolist() == [["[UNK]", "a", "b", "[UNK]"]]
    assert_config_matches_keras(lambda lib: lib.layers.HashedCrossing(5, output_mode="one_hot", name="cross"))


@pytest.mark.parametrize("factory", [
    lambda lib: lib.layers.IntegerLookup(vocabulary=VOCAB),
    lambda lib: lib.layers.IntegerLookup(vocabulary=VOCAB, output_mode="multi_hot", mask_token=7),
    lambda lib: lib.layers.IntegerLookup(vocabulary=VOCAB, num_oov_indices=2),
    lambda lib: lib.layers.CategoryEncoding(1200, output_mode="count"),
    lambda lib: lib.layers.Discretization(bin_boundaries=[20.0, 40.0], output_mode="one_hot"),
], ids=["integer_lookup", "integer_multi_hot_mask", "integer_floormod", "category_count", "discretization"])
def test_numeric_layers_run_inside_models_and_onnx(factory, tmp_path):
    check_layer(factory, [INTS.astype("int32")], tmp_dir=str(tmp_path))


def test_string_layers_run_in_tf_data_and_py_dataset_pipelines():
    vectorize = kgraph.layers.TextVectorization(output_sequence_length=5)
    vectorize.adapt(tf.data.Dataset.from_tensor_slices(TEXTS).batch(2))
    eager = np.asarray(vectorize(TEXTS))
    mapped = np.concatenate(list(tf.data.Dataset.from_tensor_slices(TEXTS).batch(2).map(vectorize)
                                 .as_numpy_iterator()))
    np.testing.assert_array_equal(mapped, eager)
    hashing, lookup = kgraph.layers.Hashing(5), kgraph.layers.StringLookup(vocabulary=["a", "b"])
    pairs = tf.data.Dataset.from_tensor_slices((INTS, WORDS[:, :2].repeat(2, 1))).batch(2)
    hashed, looked_up = next(iter(pairs.map(lambda i, w: (hashing(i), lookup(w)))))
    np.testing.assert_array_equal(hashed.numpy(), np.asarray(hashing(INTS)))
    np.testing.assert_array_equal(looked_up.numpy(), np.asarray(lookup(WORDS[:, :2].repeat(2, 1))))

    class Texts(kgraph.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return np.asarray(vectorize(TEXTS[index:index + 2])), np.ones((len(TEXTS[index:index + 2]), 1))

    inputs = kgraph.Input(shape=(5,), dtype="int32")
    outputs = kgraph.layers.Dense(1)(kgraph.layers.GlobalAveragePooling1D()(
        kgraph.layers.Embedding(vectorize.vocabulary_size(), 4)(inputs)))
    model = kgraph.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(Texts(), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("factory,data", [
    (lambda lib: lib.layers.StringLookup(), WORDS),
    (lambda lib: lib.layers.IntegerLookup(output_mode="tf_idf"), INTS),
    (lambda lib: lib.layers.TextVectorization(max_tokens=8), TEXTS),
], ids=["string_lookup", "integer_lookup_tf_idf", "text_vectorization"])
def test_vocabulary_assets_cross_both_ways(factory, data, tmp_path):
    for source, target in ((kgraph, keras), (keras, kgraph)):
        folder = tmp_path / source.__name__
        folder.mkdir()
        adapted = factory(source)
        adapted.adapt(data)
        adapted.save_assets(str(folder))
        store = {}
        adapted.save_own_variables(store)
        restored = factory(target)
        restored.load_own_variables(store)
        restored.load_assets(str(folder))
        assert restored.get_vocabulary() == adapted.get_vocabulary()
        np.testing.assert_allclose(np.asarray(restored(data)), np.asarray(adapted(data)), rtol=1e-6)


def test_strings_in_compiled_models_fail_clearly():
    ints = kgraph.Input(shape=(3,), dtype="int32")
    for layer, match in ((kgraph.layers.Hashing(4), "hashes the decimal strings"),
                         (kgraph.layers.IntegerLookup(vocabulary=VOCAB, num_oov_indices=2, oov_method="farmhash"),
                          "farmhash"),
                         (kgraph.layers.TextVectorization(), "splits and looks up strings"),
                         (kgraph.layers.StringLookup(vocabulary=["a"]), "string tensors")):
        with pytest.raises(ValueError, match=rf"runs on the host.*{match}.*tf.data `map`"):
            layer(ints)
    strings = kgraph.Input(shape=(1,), dtype="string", name="words")  # an input of host-side FeatureSpace models
    with pytest.raises(ValueError, match=r"Input 'words' holds strings.*not a compiled model"):
        kgraph.layers.StringLookup(vocabulary=["a"])(strings)


def test_bad_arguments_fail_as_in_keras():
    with pytest.raises(ValueError, match=r"`max_tokens` must be greater than 1"):
        kgraph.layers.StringLookup(max_tokens=1)
    with pytest.raises(ValueError, match=r"repeated term"):
        kgraph.layers.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(RuntimeError, match=r"you must set the layer's vocabulary"):
        kgraph.layers.StringLookup(output_mode="multi_hot")(WORDS)
    with pytest.raises(ValueError, match=r"num_oov_indices=0.*\['zz'\]"):
        kgraph.layers.StringLookup(vocabulary=["a", "b", "c"], num_oov_indices=0)(WORDS)
    with pytest.raises(ValueError, match=r"Both `num_bins` and `bin_boundaries`"):
        kgraph.layers.Discretization(bin_boundaries=[1.0], num_bins=3)
    with pytest.raises(ValueError, match=r"num_tokens must be set"):
        kgraph.layers.CategoryEncoding()
