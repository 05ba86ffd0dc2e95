"""Datasets from arrays and folders, as `keras.utils` builds them: `tf.data.Dataset`s that `fit` reads.

Like Keras, these need TensorFlow (`pip install tensorflow-cpu`) for the `tf.data` pipeline; the file
indexing, shuffling and training/validation split follow Keras' order exactly, so the same seed gives the
same split.
"""

from __future__ import annotations

import os

import numpy as np
from kgraph import config
from kgraph import tree

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
TEXT_FORMATS = (".txt",)
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")


def _tf():
    try:
        import tensorflow as tf  # optional: the dataset builders return tf.data pipelines
    except ImportError as e:
        raise ImportError("kgraph's dataset utilities build `tf.data` pipelines, as Keras' do, and need "
                          "TensorFlow: `pip install tensorflow-cpu`.") from e
    return tf


def _check_split(validation_split, subset, shuffle, seed) -> None:
    """Keras' rules for `validation_split`/`subset`/`seed`."""
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError('`subset` must be either "training", "validation" or "both", '
                         f"received: {subset}")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a `seed` "
                         "argument, to make sure that there is no overlap between the training and "
                         "validation subset.")


def _split(samples, labels, validation_split, subset):
    """The training or validation part: the last `int(validation_split * n)` samples are the validation set."""
    if not validation_split:
        return samples, labels
    num_val = int(validation_split * len(samples))
    if subset == "training":
        return samples[:-num_val], (labels[:-num_val] if labels is not None else None)
    return samples[-num_val:], (labels[-num_val:] if labels is not None else None)


def index_directory(directory, labels, formats, class_names=None, shuffle: bool = True, seed=None,
                    follow_links: bool = False, verbose: bool = True):
    """`(file_paths, labels, class_names)` for the files of `formats` under `directory` (one subfolder per
    class when `labels="inferred"`), shuffled with `seed` as Keras does."""
    if not os.path.isdir(directory):
        raise ValueError(f"`directory` must be an existing folder. Received: directory={directory!r}")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError("The `class_names` passed did not match the names of the subdirectories of the "
                                 f"target directory. Expected: {subdirs} (or a subset of it), but received: "
                                 f"class_names={class_names}")
            subdirs = list(class_names)
    else:
        subdirs = [""]
        if class_names is not None:
            raise ValueError("`class_names` can only be passed with `labels='inferred'`.")
    filenames, found_labels = [], []
    for index, subdir in enumerate(subdirs):
        root = os.path.join(directory, subdir)
        for walk_root, _, files in sorted(os.walk(root, followlinks=follow_links), key=lambda x: x[0]):
            for fname in sorted(files):
                if fname.lower().endswith(formats):
                    filenames.append(os.path.relpath(os.path.join(walk_root, fname), directory))
                    found_labels.append(index)
    if labels == "inferred":
        labels_out, names = np.asarray(found_labels, dtype="int32"), subdirs
    elif labels is None:
        labels_out, names = None, None
    else:
        if len(labels) != len(filenames):
            raise ValueError("Expected the lengths of `labels` to match the number of files in the target "
                             f"directory. len(labels) is {len(labels)} while we found {len(filenames)} files "
                             f"in directory {directory}.")
        labels_out, names = np.asarray(labels), [str(label) for label in sorted(set(labels))]
    if verbose:
        print(f"Found {len(filenames)} files." if labels_out is None
              else f"Found {len(filenames)} files belonging to {len(names)} classes.")
    paths = [os.path.join(directory, f) for f in filenames]
    if shuffle:
        seed = np.random.randint(1e6) if seed is None else seed
        np.random.RandomState(seed).shuffle(paths)
        if labels_out is not None:
            np.random.RandomState(seed).shuffle(labels_out)
    return paths, labels_out, names


def _labels_dataset(tf, labels, label_mode, num_classes):
    ds = tf.data.Dataset.from_tensor_slices(labels)
    if label_mode == "binary":
        return ds.map(lambda x: tf.expand_dims(tf.cast(x, "float32"), axis=-1))
    if label_mode == "categorical":
        return ds.map(lambda x: tf.one_hot(x, num_classes))
    return ds


def _finish(tf, ds, labels, label_mode, num_classes, batch_size, shuffle, seed, class_names, paths):
    if label_mode is not None:
        ds = tf.data.Dataset.zip((ds, _labels_dataset(tf, labels, label_mode, num_classes)))
    if shuffle:
        ds = ds.shuffle(buffer_size=batch_size * 8 if batch_size is not None else 1024, seed=seed)
    if batch_size is not None:
        ds = ds.batch(batch_size)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    ds.class_names, ds.file_paths = class_names, paths
    return ds


def indexed_parts(directory, labels, label_mode, class_names, formats, shuffle, seed, validation_split, subset,
                  follow_links, verbose, missing) -> tuple[list, list, int, int]:
    """Indexes the files of `directory` and splits them into the subsets asked for, as Keras' `*_from_directory`
    utilities do: `(parts, class_names, num_classes, seed)`, each part `(paths, labels, shuffle)`, the seed drawn
    when None; `missing(part)` words the error for a subset without files."""
    _check_split(validation_split, subset, shuffle, seed)
    seed = np.random.randint(1e6) if seed is None else seed
    paths, found, names = index_directory(directory, labels, formats, class_names, shuffle, seed, follow_links,
                                          verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 class_names. '
                         f"Received: class_names={names}")
    parts = []
    wanted = [("training", shuffle), ("validation", False)] if subset == "both" else [(subset, shuffle)]
    for part, part_shuffle in wanted:
        part_paths, part_labels = _split(paths, found, validation_split, part)
        if not part_paths:
            raise ValueError(missing(part))
        parts.append((part_paths, part_labels, part_shuffle))
    return parts, names, len(names) if names else 0, seed


def _from_directory(directory, labels, label_mode, class_names, batch_size, shuffle, seed, validation_split,
                    subset, follow_links, verbose, formats, load, what: str):
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ValueError("`labels` argument should be a list/tuple of integer labels, of the same size as the "
                         f"number of files in the target directory, 'inferred' or None. Received: labels={labels}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", or None. '
                         f"Received: label_mode={label_mode}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    parts, names, num_classes, seed = indexed_parts(
        directory, labels, label_mode, class_names, formats, shuffle, seed, validation_split, subset, follow_links,
        verbose, lambda part: f"No {what} found in directory {directory}. Allowed formats: {formats}")
    tf = _tf()
    datasets = []
    for part_paths, part_labels, part_shuffle in parts:
        ds = tf.data.Dataset.from_tensor_slices(part_paths).map(load, num_parallel_calls=tf.data.AUTOTUNE)
        datasets.append(_finish(tf, ds, part_labels, label_mode, num_classes, batch_size, part_shuffle, seed,
                                names, part_paths))
    return datasets if subset == "both" else datasets[0]


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 color_mode: str = "rgb", batch_size: int | None = 32, image_size=(256, 256),
                                 shuffle: bool = True, seed=None, validation_split=None, subset=None,
                                 interpolation: str = "bilinear", follow_links: bool = False,
                                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                                 data_format=None, format: str = "tf", verbose: bool = True):
    """A `tf.data.Dataset` of `(images, labels)` batches from a folder with one subfolder per class.

    Args:
        directory: the folder; with `labels="inferred"` each subfolder is a class (sorted names).
        labels: "inferred", a list of integer labels in file order, or None.
        label_mode: "int", "categorical" (one-hot), "binary" (float, 2 classes) or None.
        class_names: with "inferred", the subfolders to use, in this order.
        color_mode: "rgb", "rgba" or "grayscale".
        batch_size: the batch size; None gives single images.
        image_size: `(height, width)` every image is resized to.
        shuffle, seed: shuffle the files (and each epoch's order) with this seed.
        validation_split, subset: hold out this fraction as "validation" ("training", "validation", "both").
        interpolation: the resize method.
        follow_links: follow symbolic links to subfolders.
        crop_to_aspect_ratio, pad_to_aspect_ratio: keep the aspect ratio by cropping or padding.
        data_format: "channels_last" (default) or "channels_first".
        format: "tf" (a `tf.data.Dataset`).
        verbose: print how many files were found.
    """
    channels = {"rgb": 3, "rgba": 4, "grayscale": 1}.get(color_mode)
    if channels is None:
        raise ValueError(f'`color_mode` must be one of {{"rgb", "rgba", "grayscale"}}. Received: color_mode={color_mode}')
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    if not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"Invalid `image_size` value. Expected a tuple of 2 integers. Received: image_size={image_size}")
    interpolation = interpolation.lower()
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"Argument `interpolation` should be one of {INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation}")
    if format != "tf":
        raise ValueError(f'`format` must be "tf" in kgraph. Received: format={format}')

    channels_first = (data_format or config.image_data_format()) == "channels_first"
    tf = _tf()

    def load(path):
        img = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        if crop_to_aspect_ratio:
            img = _crop_to_aspect_ratio(tf, img, image_size)
        if pad_to_aspect_ratio:
            img = tf.image.resize_with_pad(img, image_size[0], image_size[1], method=interpolation)
        else:
            img = tf.image.resize(img, image_size, method=interpolation)
        img.set_shape((image_size[0], image_size[1], channels))
        return tf.transpose(img, (2, 0, 1)) if channels_first else img

    return _from_directory(directory, labels, label_mode, class_names, batch_size, shuffle, seed, validation_split,
                           subset, follow_links, verbose, IMAGE_FORMATS, load, "images")


def _crop_to_aspect_ratio(tf, img, size):
    """The largest centered crop of `img` with the aspect ratio of `size`."""
    shape = tf.shape(img)
    height, width = shape[0], shape[1]
    target_h, target_w = size
    crop_h = tf.cast(tf.cast(width * target_h, "float32") / target_w, "int32")
    crop_h = tf.minimum(height, crop_h)
    crop_w = tf.cast(tf.cast(height * target_w, "float32") / target_h, "int32")
    crop_w = tf.minimum(width, crop_w)
    off_h = tf.cast((height - crop_h) / 2, "int32")
    off_w = tf.cast((width - crop_w) / 2, "int32")
    return tf.image.crop_to_bounding_box(img, off_h, off_w, crop_h, crop_w)


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                batch_size: int | None = 32, max_length: int | None = None, shuffle: bool = True,
                                seed=None, validation_split=None, subset=None, follow_links: bool = False,
                                format: str = "tf", verbose: bool = True):
    """A `tf.data.Dataset` of `(texts, labels)` batches from `.txt` files, one subfolder per class.

    Args:
        directory, labels, label_mode, class_names, batch_size, shuffle, seed, validation_split, subset,
            follow_links, verbose: as in `image_dataset_from_directory`.
        max_length: keep at most this many characters of each text.
        format: "tf" (a `tf.data.Dataset`).
    """
    if format != "tf":
        raise ValueError(f'`format` must be "tf" in kgraph. Received: format={format}')
    tf = _tf()

    def load(path):
        text = tf.io.read_file(path)
        return tf.strings.substr(text, 0, max_length) if max_length is not None else text

    return _from_directory(directory, labels, label_mode, class_names, batch_size, shuffle, seed, validation_split,
                           subset, follow_links, verbose, TEXT_FORMATS, load, "text files")


def timeseries_dataset_from_array(data, targets, sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: int | None = 128, shuffle: bool = False,
                                  seed=None, start_index: int | None = None, end_index: int | None = None):
    """A `tf.data.Dataset` of sliding windows over `data` (and the target at each window's start).

    Args:
        data: an array of timesteps (first axis is time).
        targets: the target of the window starting at `i` is `targets[i]`; None for inputs only.
        sequence_length: the number of timesteps per window.
        sequence_stride: the step between window starts.
        sampling_rate: the step between timesteps within a window.
        batch_size: windows per batch; None gives single windows.
        shuffle, seed: shuffle the windows.
        start_index, end_index: the range of `data` to use.
    """
    for name, value in (("sequence_length", sequence_length), ("sequence_stride", sequence_stride),
                        ("sampling_rate", sampling_rate)):
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value}")
    if start_index and (start_index < 0 or start_index >= len(data)):
        raise ValueError("`start_index` must be 0 <= start_index < len(data). "
                         f"Received: start_index={start_index}, for data of length {len(data)}")
    if end_index is not None and (end_index <= (start_index or 0) or end_index > len(data)):
        raise ValueError("`end_index` must be start_index < end_index <= len(data). "
                         f"Received: start_index={start_index}, end_index={end_index}, for data of length "
                         f"{len(data)}")
    if targets is not None and len(targets) != len(data):
        raise ValueError(f"Expected data and targets to have the same number of time steps (axis=0). "
                         f"Received: data.shape={np.shape(data)}, targets.shape={np.shape(targets)}")
    tf = _tf()
    start_index = start_index or 0
    end_index = len(data) if end_index is None else end_index
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    if num_seqs < 1:
        raise ValueError("`data` is too short for one window: it needs at least "
                         f"{(sequence_length - 1) * sampling_rate + 1} timesteps from start_index.")
    index_dtype = "int32" if num_seqs < 2147483647 else "int64"
    start_positions = np.arange(0, num_seqs, sequence_stride, dtype=index_dtype)
    if shuffle:
        seed = np.random.randint(1e6) if seed is None else seed
        np.random.RandomState(seed).shuffle(start_positions)
    sequence_length_t = tf.cast(sequence_length, dtype=index_dtype)
    sampling_rate_t = tf.cast(sampling_rate, dtype=index_dtype)
    positions = tf.data.Dataset.from_tensors(start_positions).repeat()
    indices = tf.data.Dataset.zip((tf.data.Dataset.range(len(start_positions)), positions)).map(
        lambda i, pos: tf.range(pos[i], pos[i] + sequence_length_t * sampling_rate_t, sampling_rate_t),
        num_parallel_calls=tf.data.AUTOTUNE)
    data_ds = tf.data.Dataset.from_tensors(np.asarray(data)[start_index:end_index]).repeat()
    ds = tf.data.Dataset.zip((data_ds, indices)).map(lambda steps, inds: tf.gather(steps, inds),
                                                     num_parallel_calls=tf.data.AUTOTUNE)
    if targets is not None:
        target_ds = tf.data.Dataset.from_tensor_slices(start_positions).map(
            lambda i: tf.gather(np.asarray(targets)[start_index:end_index], i))
        ds = tf.data.Dataset.zip((ds, target_ds))
    ds = ds.prefetch(tf.data.AUTOTUNE)
    if batch_size is not None:
        if shuffle:
            ds = ds.shuffle(buffer_size=batch_size * 8, seed=seed)
        ds = ds.batch(batch_size)
    elif shuffle:
        ds = ds.shuffle(buffer_size=1024, seed=seed)
    return ds


def split_dataset(dataset, left_size=None, right_size=None, shuffle: bool = False, seed=None,
                  preferred_backend=None):
    """Splits a dataset (arrays, a tuple/dict of arrays, a list or a `tf.data.Dataset`) into two
    `tf.data.Dataset`s of `left_size` and `right_size` samples (ints) or fractions (floats).

    Args:
        dataset: what to split; every array must have the same first dimension.
        left_size, right_size: sizes as ints or fractions in (0, 1); one None means "the rest".
        shuffle, seed: shuffle the samples before splitting.
        preferred_backend: accepted for Keras compatibility; the result is always `tf.data`.
    """
    tf = _tf()
    if isinstance(dataset, tf.data.Dataset):
        samples = list(dataset.as_numpy_iterator())
    elif isinstance(dataset, (tuple, dict)):
        leaves = tree.flatten(dataset)
        lengths = {len(x) for x in leaves}
        if len(lengths) != 1:
            raise ValueError(f"All arrays of `dataset` must have the same length. Received lengths: {sorted(lengths)}")
        n = lengths.pop()
        samples = [tree.map_structure(lambda a, i=i: np.asarray(a)[i], dataset) for i in range(n)]
    elif isinstance(dataset, (list, np.ndarray)):
        samples = list(dataset)
    else:
        raise TypeError("The `dataset` argument must be a NumPy array, a list, a tuple or dict of arrays, or a "
                        f"`tf.data.Dataset`. Received: dataset={dataset!r} of type {type(dataset).__name__}")
    total = len(samples)
    left, right = _split_sizes(total, left_size, right_size)
    if shuffle:
        seed = np.random.randint(1e6) if seed is None else seed
        np.random.RandomState(seed).shuffle(samples)
    return _stack(tf, samples[:left]), _stack(tf, samples[left:left + right])


def _split_sizes(total: int, left_size, right_size) -> tuple[int, int]:
    if total == 0:
        raise ValueError("`dataset` must not be empty.")
    if left_size is None and right_size is None:
        raise ValueError("At least one of `left_size` or `right_size` must be specified.")

    def count(name, size):
        if size is None:
            return None
        if isinstance(size, float):
            if not 0 < size < 1:
                raise ValueError(f"`{name}` as a float must be in (0, 1). Received: {name}={size}")
            return round(size * total)
        if isinstance(size, int) and not isinstance(size, bool) and 0 < size <= total:
            return size
        raise ValueError(f"`{name}` must be an int in (0, {total}] or a float in (0, 1). Received: {name}={size!r}")

    left, right = count("left_size", left_size), count("right_size", right_size)
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total or left == 0 or right == 0:
        raise ValueError(f"The sizes {left} + {right} do not split a dataset of {total} samples into two "
                         "non-empty parts.")
    return left, right


def _stack(tf, samples):
    stacked = tree.map_structure(lambda *xs: np.stack(xs), *samples)
    return tf.data.Dataset.from_tensor_slices(stacked)
