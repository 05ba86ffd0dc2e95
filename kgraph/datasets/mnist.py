"""MNIST handwritten digits, as `keras.datasets.mnist`: local copies first, else Keras' mnist.npz downloaded and cached.

Local copies are looked for in the cache dir ($KGRAPH_DATASETS, else <kgraph home>/datasets): Keras' `mnist.npz`,
or the original IDX files (`train-images-idx3-ubyte.gz`, ...) in that dir or its `mnist/` subfolder.
"""

import gzip
import math
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from kgraph.datasets import download
from kgraph.datasets.download import DatasetNotFoundError

SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"  # of Keras' mnist.npz
SPLITS = ("train", "test")
_NPZ_KEYS = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}
_IDX_PREFIX = {"train": "train", "test": "t10k"}
_UNSIGNED_BYTE = 0x08

Split = tuple[np.ndarray, np.ndarray]


def load_data(path: str = "mnist.npz") -> tuple[Split, Split]:
    """Load MNIST as Keras does: `((x_train, y_train), (x_test, y_test))`, uint8 images (N, 28, 28) and uint8 labels.

    Args:
        path: the npz file name, relative to the cache dir (an absolute path is used as is).

    Raises:
        DatasetNotFoundError: neither local files nor the download provide both splits.
        ValueError: a local file is corrupt or is not MNIST.
    """
    arrays = _load(SPLITS, path)
    return arrays["train"], arrays["test"]


def load_split(split: str, path: str | None = None) -> Split:
    """Load one MNIST split as `(x, y)`; the IDX files of that split alone suffice (kgraph extension).

    Args:
        split: "train" or "test".
        path: the npz file name as in `load_data`; None means "mnist.npz".

    Raises:
        DatasetNotFoundError: neither local files nor the download provide the split.
        ValueError: `split` is not "train" or "test", or a local file is corrupt or is not MNIST.
    """
    if split not in SPLITS:
        raise ValueError(f"load_split: split must be one of {', '.join(map(repr, SPLITS))}; got {split!r}")
    return _load((split,), path or "mnist.npz")[split]


def _load(splits: tuple[str, ...], path: str) -> dict[str, Split]:
    """The requested splits from the npz at `path`, else from IDX files, else from a downloaded npz."""
    directory = download.cache_dir()
    npz = directory / path
    if npz.is_file():
        return _read_npz(npz, splits)
    idx = {split: _find_idx(directory, split) for split in splits}
    if all(idx.values()):
        return {split: _read_idx_split(*idx[split]) for split in splits}
    url = download.origin("mnist.npz")
    try:
        download.fetch(url, npz, SHA256)
    except download.DownloadError as e:
        missing = [name for split in splits if not idx[split] for name in _idx_names(split)]
        raise DatasetNotFoundError(
            f"MNIST not found: looked for {npz}, and for {', '.join(missing)} in {directory} "
            f"and {directory / 'mnist'}; then {e}. Put mnist.npz or the IDX .gz files in {directory}, "
            "or set KGRAPH_DATASETS to a directory that holds them."
        ) from e
    return _read_npz(npz, splits)


def _idx_names(split: str) -> tuple[str, str]:
    """The IDX file names (images, labels) of `split`."""
    prefix = _IDX_PREFIX[split]
    return f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"


def _find_idx(directory: Path, split: str) -> tuple[Path, Path] | None:
    """The (images, labels) IDX paths of `split` in `directory` or `directory/mnist`, if both are there."""
    for folder in (directory, directory / "mnist"):
        images, labels = (folder / name for name in _idx_names(split))
        if images.is_file() and labels.is_file():
            return images, labels
    return None


def _read_idx_split(images: Path, labels: Path) -> Split:
    """Images and labels from a pair of IDX files, checked to be MNIST."""
    x, y = _read_idx(images, ndim=3), _read_idx(labels, ndim=1)
    _check_split(x, y, f"{images} and {labels}")
    return x, y


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """The unsigned-byte array in the gzipped IDX file `path`, with its header checked against `ndim`."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"{path}: not a readable gzip file ({e})") from e
    if len(data) < 4 or data[:2] != b"\0\0":
        raise ValueError(f"{path}: not an IDX file (magic number {data[:4].hex() or 'missing'}, expected 0000xxxx)")
    if data[2] != _UNSIGNED_BYTE:
        raise ValueError(f"{path}: IDX element type 0x{data[2]:02x}, expected 0x08 (unsigned byte)")
    if data[3] != ndim:
        raise ValueError(f"{path}: IDX file has {data[3]} dimensions, expected {ndim}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} bytes, expected {header})")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    size, found = math.prod(shape), len(data) - header
    if found != size:
        problem = "truncated" if found < size else "trailing bytes"
        raise ValueError(f"{path}: {problem}: {found} bytes of data, expected {size} for shape {shape}")
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape).copy()


def _read_npz(path: Path, splits: tuple[str, ...]) -> dict[str, Split]:
    """The requested splits from a Keras-layout mnist.npz, checked to be MNIST."""
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not an npz archive (not a zip file)")
    wanted = [key for split in splits for key in _NPZ_KEYS[split]]
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in wanted if key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise ValueError(f"{path}: unreadable npz archive ({e})") from e
    missing = [key for key in wanted if key not in arrays]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}; an MNIST npz holds x_train, y_train, x_test, y_test")
    out = {}
    for split in splits:
        x_key, y_key = _NPZ_KEYS[split]
        _check_split(arrays[x_key], arrays[y_key], f"{path} ({x_key}, {y_key})")
        out[split] = arrays[x_key], arrays[y_key]
    return out


def _check_split(x: np.ndarray, y: np.ndarray, source: str) -> None:
    """Raise a ValueError naming `source` unless x is uint8 (N, 28, 28) and y is N uint8 labels in 0..9."""
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"{source}: images are {x.dtype} {x.shape}, expected uint8 (N, 28, 28)")
    if y.dtype != np.uint8 or y.shape != (len(x),):
        raise ValueError(f"{source}: labels are {y.dtype} {y.shape}, expected uint8 ({len(x)},) to match the images")
    if y.size and y.max() > 9:
        raise ValueError(f"{source}: label {y.max()} out of range 0..9")
