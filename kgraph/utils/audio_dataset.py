"""`audio_dataset_from_directory`: a `tf.data.Dataset` of decoded WAV files, in Keras' file order and split."""

from __future__ import annotations

import importlib

import numpy as np

from kgraph.utils.dataset_utils import _labels_dataset, _tf, indexed_parts

AUDIO_FORMATS = (".wav",)


def _check_arguments(labels, label_mode, class_names, output_sequence_length, ragged, sampling_rate) -> None:
    """Keras' checks of `audio_dataset_from_directory`'s arguments, with its messages."""
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError("The `labels` argument should be a list/tuple of integer labels, of the same size as the "
                             "number of audio files in the target directory. If you wish to infer the labels from "
                             'the subdirectory names in the target directory, pass `labels="inferred"`. If you wish '
                             f"to get a dataset that only contains audio samples (no labels), pass `labels=None`. "
                             f"Received: labels={labels}")
        if class_names:
            raise ValueError('You can only pass `class_names` if `labels="inferred"`. '
                             f"Received: labels={labels}, and class_names={class_names}")
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", or None. '
                         f"Received: label_mode={label_mode}")
    if ragged and output_sequence_length is not None:
        raise ValueError("Cannot set both `ragged` and `output_sequence_length`")
    if sampling_rate is not None:
        if not isinstance(sampling_rate, int):
            raise ValueError(f"`sampling_rate` should have an integer value. Received: sampling_rate={sampling_rate}")
        if sampling_rate <= 0:
            raise ValueError(f"`sampling_rate` should be higher than 0. Received: sampling_rate={sampling_rate}")


def _resampler(sampling_rate):
    """tensorflow-io's `audio.resample`, which Keras uses to change the sampling rate."""
    try:
        tfio = importlib.import_module("tensorflow_io")
    except ImportError:
        raise ImportError("To use the argument `sampling_rate`, you should install tensorflow_io. You can install it "
                          "via `pip install tensorflow-io`.") from None
    return lambda audio, rate: tfio.audio.resample(input=audio, rate_in=rate, rate_out=sampling_rate)


def _decoder(tf, sampling_rate, output_sequence_length):
    """Reads one WAV file into float32 `(samples, channels)` in [-1, 1], cut or zero-padded to a fixed length."""
    resample = _resampler(sampling_rate) if sampling_rate is not None else None

    def decode(path):
        audio, rate = tf.audio.decode_wav(contents=tf.io.read_file(path),
                                          desired_samples=-1 if output_sequence_length is None
                                          else output_sequence_length)
        return resample(audio, tf.cast(rate, tf.int64)) if resample else audio

    return decode


def _audio_dataset(tf, paths, labels, label_mode, num_classes, decode, ragged, shuffle, buffer_size, seed):
    """Keras' pipeline: (path, label) pairs, shuffled, then decoded (and made ragged)."""
    ds = tf.data.Dataset.from_tensor_slices(paths)
    if label_mode:
        ds = tf.data.Dataset.zip((ds, _labels_dataset(tf, labels, label_mode, num_classes)))
    if shuffle:
        ds = ds.shuffle(buffer_size=buffer_size, seed=seed)
    if label_mode:
        ds = ds.map(lambda x, y: (decode(x), y), num_parallel_calls=tf.data.AUTOTUNE)
        if ragged:
            ds = ds.map(lambda x, y: (tf.RaggedTensor.from_tensor(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
        if ragged:
            ds = ds.map(tf.RaggedTensor.from_tensor, num_parallel_calls=tf.data.AUTOTUNE)
    return ds


def _batched(tf, ds, batch_size, class_names, output_sequence_length, ragged):
    """Batches as Keras does: padded to the longest sequence unless the length is fixed or the data is ragged."""
    ds = ds.prefetch(tf.data.AUTOTUNE)
    if batch_size is not None:
        ds = ds.padded_batch(batch_size) if output_sequence_length is None and not ragged else ds.batch(batch_size)
    ds.class_names = class_names
    return ds


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 batch_size: int | None = 32, sampling_rate: int | None = None,
                                 output_sequence_length: int | None = None, ragged: bool = False,
                                 shuffle: bool = True, seed=None, validation_split=None, subset=None,
                                 follow_links: bool = False, verbose: bool = True):
    """A `tf.data.Dataset` of `(audio, labels)` batches from a folder of `.wav` files, one subfolder per class.

    Audio is float32 `(batch, samples, channels)`; labels follow `label_mode` as in `image_dataset_from_directory`.

    Args:
        directory: the folder; with `labels="inferred"` each subfolder is a class (sorted names).
        labels: "inferred", a list of integer labels in file order, or None.
        label_mode: "int", "categorical" (one-hot), "binary" (float, 2 classes) or None.
        class_names: with "inferred", the subfolders to use, in this order.
        batch_size: the batch size; None gives single sequences.
        sampling_rate: resample every file to this rate (needs tensorflow-io, as in Keras).
        output_sequence_length: cut or zero-pad every file to this many samples; by default each batch is padded
            to its longest file.
        ragged: yield ragged batches (each sequence keeps its length).
        shuffle, seed: shuffle the files (and each epoch's order) with this seed.
        validation_split, subset: hold out this fraction as "validation" ("training", "validation", "both").
        follow_links: follow symbolic links to subfolders.
        verbose: print how many files were found.
    """
    _check_arguments(labels, label_mode, class_names, output_sequence_length, ragged, sampling_rate)
    if labels is None or label_mode is None:
        labels, label_mode = None, None

    def missing(part: str) -> str:
        kind = f"{part} audio files" if subset == "both" else "audio files"
        return f"No {kind} found in directory {directory}. Allowed format(s): {AUDIO_FORMATS}"

    parts, names, num_classes, seed = indexed_parts(directory, labels, label_mode, class_names, AUDIO_FORMATS,
                                                    shuffle, seed, validation_split, subset, follow_links, verbose,
                                                    missing)
    tf = _tf()
    decode = _decoder(tf, sampling_rate, output_sequence_length)
    buffer_size = batch_size * 8 if batch_size is not None else 1024
    datasets = []
    for part_paths, part_labels, part_shuffle in parts:
        ds = _audio_dataset(tf, part_paths, part_labels, label_mode, num_classes, decode, ragged, part_shuffle,
                            buffer_size, seed)
        datasets.append(_batched(tf, ds, batch_size, names, output_sequence_length, ragged))
    return tuple(datasets) if subset == "both" else datasets[0]
