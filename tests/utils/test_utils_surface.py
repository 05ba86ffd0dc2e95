"""kgraph.utils against keras.utils on the same inputs, and the clear errors for bad input."""

import hashlib
import tarfile
import zipfile

import keras
import numpy as np
import pytest

import kgraph
from kgraph import utils

SEQUENCES = [[1, 2, 3], [4], [5, 6, 7, 8, 9], []]
# (pad_sequences kwargs): one line per case.
PAD_CASES = [{}, {"maxlen": 3}, {"padding": "post", "truncating": "post", "value": -1}, {"maxlen": 6, "dtype": "float32"}]


@pytest.mark.parametrize("kwargs", PAD_CASES, ids=[str(k) for k in PAD_CASES])
def test_pad_sequences_matches_keras(kwargs):
    np.testing.assert_array_equal(utils.pad_sequences(SEQUENCES, **kwargs),
                                  keras.utils.pad_sequences(SEQUENCES, **kwargs))


@pytest.mark.parametrize("labels,num_classes", [([0, 2, 1], None), ([[1], [3]], 5), (np.array([[0, 1], [2, 0]]), 3)])
def test_to_categorical_and_normalize_match_keras(labels, num_classes):
    np.testing.assert_array_equal(utils.to_categorical(labels, num_classes),
                                  keras.utils.to_categorical(labels, num_classes))
    x = np.random.default_rng(0).normal(size=(4, 3))
    for order in (1, 2):
        np.testing.assert_allclose(utils.normalize(x, -1, order), keras.utils.normalize(x, -1, order))
    # Keras 3.15's NumPy path turns axis=0 into -1 and fails to broadcast; kgraph normalizes the columns.
    np.testing.assert_allclose(utils.normalize(x, 0), x / np.linalg.norm(x, axis=0, keepdims=True))


def test_bad_labels_and_sequences_are_named():
    with pytest.raises(ValueError, match="label 5, outside \\[0, num_classes\\) with num_classes=3"):
        utils.to_categorical([0, 5], num_classes=3)
    with pytest.raises(ValueError, match="integer class labels"):
        utils.to_categorical([0.5, 1.0])
    with pytest.raises(ValueError, match="non-iterable 7 of type int at position 1"):
        utils.pad_sequences([[1, 2], 7])
    with pytest.raises(ValueError, match='Padding type "middle"'):
        utils.pad_sequences(SEQUENCES, padding="middle")
    with pytest.raises(ValueError, match="Shape of sample"):
        utils.pad_sequences([np.ones((2, 3)), np.ones((2, 4))])


def test_get_file_caches_local_paths_and_file_urls_and_checks_hashes(tmp_path):
    source = tmp_path / "data.bin"
    source.write_bytes(b"kgraph" * 100)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    path = utils.get_file("data.bin", origin=source.as_uri(), file_hash=digest, cache_dir=cache)
    assert open(path, "rb").read() == source.read_bytes() and path.startswith(str(cache))
    source.write_bytes(b"changed")  # a valid cached copy is not fetched again
    assert open(utils.get_file("data.bin", origin=str(source), file_hash=digest, cache_dir=cache), "rb").read()[:6] == b"kgraph"
    with pytest.raises(ValueError, match="hash does not match"):
        utils.get_file("other.bin", origin=str(source), file_hash=digest, cache_dir=cache)
    assert not (cache / "datasets" / "other.bin").exists()  # no half-written or wrong file is left behind
    with pytest.raises(FileNotFoundError, match="not an existing file"):
        utils.get_file("missing.bin", origin=str(tmp_path / "nope"), cache_dir=cache)


@pytest.mark.parametrize("fmt", ["tar", "zip"])
def test_get_file_extracts_archives(tmp_path, fmt):
    member = tmp_path / "hello.txt"
    member.write_text("hi")
    archive = tmp_path / f"pack.{'tar.gz' if fmt == 'tar' else 'zip'}"
    if fmt == "tar":
        with tarfile.open(archive, "w:gz") as t:
            t.add(member, arcname="hello.txt")
    else:
        with zipfile.ZipFile(archive, "w") as z:
            z.write(member, arcname="hello.txt")
    folder = utils.get_file(archive.name, origin=archive.as_uri(), extract=True, cache_dir=tmp_path / "c")
    assert (tmp_path / "c" / "datasets").joinpath(folder).joinpath("hello.txt").read_text() == "hi"


def test_timeseries_and_split_dataset_match_keras():
    data = np.arange(120, dtype="float32").reshape(60, 2)
    targets = np.arange(60)
    kwargs = {"sequence_length": 5, "sequence_stride": 3, "sampling_rate": 2, "batch_size": 4, "start_index": 2}
    ours = list(utils.timeseries_dataset_from_array(data, targets, **kwargs).as_numpy_iterator())
    theirs = list(keras.utils.timeseries_dataset_from_array(data, targets, **kwargs).as_numpy_iterator())
    assert len(ours) == len(theirs)
    for (x, y), (kx, ky) in zip(ours, theirs):
        np.testing.assert_array_equal(x, kx)
        np.testing.assert_array_equal(y, ky)
    left, right = utils.split_dataset((data, targets), left_size=0.75)
    assert len(list(left)) == 45 and len(list(right)) == 15
    with pytest.raises(ValueError, match="`sequence_length` must be a positive integer"):
        utils.timeseries_dataset_from_array(data, targets, sequence_length=0)


def test_image_and_text_datasets_from_directory_match_keras(tmp_path):
    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (tmp_path / "img" / label).mkdir(parents=True)
        (tmp_path / "txt" / label).mkdir(parents=True)
        for i in range(3):
            utils.save_img(tmp_path / "img" / label / f"{i}.png", rng.integers(0, 255, (10, 12, 3)).astype("float32"),
                           scale=False)
            (tmp_path / "txt" / label / f"{i}.txt").write_text(f"{label} number {i}")
    for kwargs in ({"shuffle": False}, {"shuffle": True, "seed": 3, "validation_split": 0.34, "subset": "training"}):
        ours = utils.image_dataset_from_directory(tmp_path / "img", image_size=(8, 8), batch_size=4,
                                                  label_mode="categorical", verbose=False, **kwargs)
        theirs = keras.utils.image_dataset_from_directory(tmp_path / "img", image_size=(8, 8), batch_size=4,
                                                          label_mode="categorical", verbose=False, **kwargs)
        assert ours.class_names == theirs.class_names == ["cat", "dog"]
        if not kwargs["shuffle"]:
            for (x, y), (kx, ky) in zip(ours, theirs):
                np.testing.assert_allclose(x.numpy(), kx.numpy(), rtol=1e-6)
                np.testing.assert_array_equal(y.numpy(), ky.numpy())
        else:
            assert sorted(ours.file_paths) == sorted(theirs.file_paths)
    texts = utils.text_dataset_from_directory(tmp_path / "txt", shuffle=False, verbose=False)
    keras_texts = keras.utils.text_dataset_from_directory(tmp_path / "txt", shuffle=False, verbose=False)
    for (x, y), (kx, ky) in zip(texts, keras_texts):
        assert list(x.numpy()) == list(kx.numpy()) and list(y.numpy()) == list(ky.numpy())
    with pytest.raises(ValueError, match="`color_mode`"):
        utils.image_dataset_from_directory(tmp_path / "img", color_mode="cmyk")
    with pytest.raises(ValueError, match="must provide a `seed`"):
        utils.image_dataset_from_directory(tmp_path / "img", validation_split=0.2, subset="training")


def test_image_round_trip_and_small_helpers(tmp_path):
    image = np.random.default_rng(1).integers(0, 255, (6, 5, 3)).astype("float32")
    utils.save_img(tmp_path / "a.png", image, scale=False)
    loaded = utils.img_to_array(utils.load_img(tmp_path / "a.png"))
    np.testing.assert_array_equal(loaded, keras.utils.img_to_array(keras.utils.load_img(tmp_path / "a.png")))
    assert utils.pack_x_y_sample_weight(1, 2) == (1, 2) and utils.unpack_x_y_sample_weight((1,)) == (1, None, None)
    config = utils.Config(a=1)
    config.b = 2
    config.freeze()
    with pytest.raises(ValueError, match="frozen"):
        config.c = 3
    inputs = kgraph.Input((3,))
    assert utils.get_source_inputs(kgraph.layers.Dense(2)(inputs))[0] is inputs
