"""kgraph.utils.audio_dataset_from_directory against keras.utils' on real WAV files (written with `wave`):
the same files, order, split, labels and decoded samples."""

import wave

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgraph

CLASSES = {"bird": 3, "dog": 4, "rain": 2}  # class -> number of stereo files


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio")
    rng = np.random.default_rng(0)
    for name, count in CLASSES.items():
        (root / name).mkdir()
        for i in range(count):
            samples = rng.integers(-2 ** 15, 2 ** 15, size=(int(rng.integers(50, 200)), 2), dtype=np.int16)
            with wave.open(str(root / name / f"{name}_{i}.wav"), "wb") as f:
                f.setnchannels(2)
                f.setsampwidth(2)
                f.setframerate(8000)
                f.writeframes(samples.tobytes())
    (root / "dog" / "notes.txt").write_text("not audio")
    return root


def batches(ds):
    out = []
    for batch in ds:
        x, y = batch if isinstance(batch, tuple) else (batch, None)
        x = x.to_list() if isinstance(x, tf.RaggedTensor) else x.numpy()
        out.append((x, None if y is None else y.numpy()))
    return out


def assert_same(ours, theirs):
    got, want = batches(ours), batches(theirs)
    assert len(got) == len(want)
    for (gx, gy), (wx, wy) in zip(got, want):
        if isinstance(wx, list):
            assert gx == wx
        else:
            np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)


# Each case is audio_dataset_from_directory kwargs.
CASES = {
    "padded_int": dict(batch_size=4, seed=3),
    "fixed_length_categorical": dict(batch_size=3, output_sequence_length=120, label_mode="categorical", seed=5),
    "ragged_unshuffled": dict(batch_size=2, ragged=True, shuffle=False),
    "validation_subset": dict(batch_size=2, validation_split=0.3, subset="validation", seed=9,
                              output_sequence_length=64),
    "unbatched_no_labels": dict(batch_size=None, labels=None, shuffle=False),
    "class_names_binary": dict(batch_size=4, class_names=["rain", "bird"], label_mode="binary", seed=1),
}


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_matches_keras(audio_dir, kwargs):
    directory = str(audio_dir)
    ours = kgraph.utils.audio_dataset_from_directory(directory, verbose=False, **kwargs)
    theirs = keras.utils.audio_dataset_from_directory(directory, verbose=False, **kwargs)
    assert ours.class_names == theirs.class_names
    assert_same(ours, theirs)


def test_both_subsets_match_keras(audio_dir):
    kwargs = dict(batch_size=3, validation_split=0.25, subset="both", seed=11, output_sequence_length=80)
    ours = kgraph.utils.audio_dataset_from_directory(str(audio_dir), verbose=False, **kwargs)
    theirs = keras.utils.audio_dataset_from_directory(str(audio_dir), verbose=False, **kwargs)
    for a, b in zip(ours, theirs):
        assert_same(a, b)


def test_decoded_samples_are_the_written_ones(audio_dir):
    ds = kgraph.utils.audio_dataset_from_directory(str(audio_dir / "rain"), labels=None, batch_size=None,
                                                   shuffle=False, verbose=False)
    with wave.open(str(audio_dir / "rain" / "rain_0.wav"), "rb") as f:
        written = np.frombuffer(f.readframes(f.getnframes()), np.int16).reshape(-1, 2)
    np.testing.assert_allclose(next(iter(ds)).numpy(), written / 32768.0, rtol=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    (dict(ragged=True, output_sequence_length=10), "ragged"),
    (dict(label_mode="sparse"), "label_mode"),
    (dict(labels="folders"), "labels"),
    (dict(sampling_rate=0), "sampling_rate"),
    (dict(label_mode="binary"), "exactly 2"),
    (dict(validation_split=0.2), "subset"),
])
def test_clear_errors(audio_dir, kwargs, match):
    with pytest.raises(ValueError, match=match):
        kgraph.utils.audio_dataset_from_directory(str(audio_dir), verbose=False, **kwargs)
