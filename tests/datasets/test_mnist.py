"""kgraph.datasets.mnist against the real MNIST test split, generated npz/IDX files and a local HTTP origin."""

import gzip
import hashlib
import http.server
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from kgraph import config
from kgraph.datasets import DatasetNotFoundError, download, mnist

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO / ".." / "shared" / "data"
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def make_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n random MNIST-shaped images and labels."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


TRAIN, TEST = make_split(6, seed=0), make_split(4, seed=1)


def write_npz(path: Path, **overrides) -> bytes:
    """Write a Keras-layout mnist.npz of TRAIN and TEST (entries replaced or, with None, removed); return its bytes."""
    arrays = {"x_train": TRAIN[0], "y_train": TRAIN[1], "x_test": TEST[0], "y_test": TEST[1], **overrides}
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path.read_bytes()


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX encoding of a uint8 array."""
    return bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_idx(folder: Path, split: str, images: bytes, labels: bytes) -> tuple[Path, Path]:
    """Write a split's gzipped IDX files into folder; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = {"train": "train", "test": "t10k"}[split]
    paths = folder / f"{prefix}-images-idx3-ubyte.gz", folder / f"{prefix}-labels-idx1-ubyte.gz"
    for path, data in zip(paths, (images, labels)):
        path.write_bytes(gzip.compress(data))
    return paths


def assert_split_equal(actual, expected):
    (x, y), (ex, ey) = actual, expected
    assert x.dtype == np.uint8 and y.dtype == np.uint8
    np.testing.assert_array_equal(x, ex)
    np.testing.assert_array_equal(y, ey)


class Origin:
    """A local HTTP server on 127.0.0.1 serving `root`, counting GET requests."""

    def __init__(self, root: Path, handler=http.server.SimpleHTTPRequestHandler):
        self.root = root
        self.requests = []
        self.release = threading.Event()
        origin = self

        class Handler(handler):
            def do_GET(self):
                origin.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        serves_files = issubclass(handler, http.server.SimpleHTTPRequestHandler)
        factory = partial(Handler, directory=str(root)) if serves_files else Handler
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), factory)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache dir that KGRAPH_DATASETS points at; the origin points nowhere until a test serves one."""
    monkeypatch.setenv("KGRAPH_DATASETS", str(tmp_path / "cache"))
    monkeypatch.setenv("KGRAPH_DATASETS_ORIGIN", "http://127.0.0.1:9/")  # discard port: refused, never internet
    return tmp_path / "cache"


@pytest.fixture
def served(tmp_path, monkeypatch):
    """An Origin serving tmp_path/served, which KGRAPH_DATASETS_ORIGIN points at."""
    root = tmp_path / "served"
    root.mkdir()
    server = Origin(root)
    monkeypatch.setenv("KGRAPH_DATASETS_ORIGIN", server.url)
    yield server
    server.stop()


def test_real_test_split_from_shared_data(monkeypatch):
    monkeypatch.setenv("KGRAPH_DATASETS", str(SHARED_DATA))
    x, y = mnist.load_split("test")
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10000,) and y.dtype == np.uint8
    assert np.bincount(y, minlength=10).tolist() == MNIST_TEST_COUNTS
    assert y[:5].tolist() == [7, 2, 1, 0, 4]  # the canonical first test digits
    assert x.min() == 0 and x.max() == 255
    assert 30 < x.mean() < 36  # MNIST's mean intensity is about 33.3


def test_load_data_reads_a_local_npz(cache):
    cache.mkdir()
    write_npz(cache / "mnist.npz")
    train, test = mnist.load_data()
    assert_split_equal(train, TRAIN)
    assert_split_equal(test, TEST)
    assert_split_equal(mnist.load_split("train"), TRAIN)


def test_load_data_path_names_the_npz(cache, tmp_path):
    cache.mkdir()
    write_npz(cache / "other.npz")
    assert_split_equal(mnist.load_data(path="other.npz")[1], TEST)
    write_npz(tmp_path / "elsewhere.npz")
    assert_split_equal(mnist.load_split("test", path=str(tmp_path / "elsewhere.npz")), TEST)


@pytest.mark.parametrize("subfolder", ["", "mnist"])
def test_idx_files_parse(cache, subfolder):
    for split, (x, y) in (("train", TRAIN), ("test", TEST)):
        write_idx(cache / subfolder, split, idx_bytes(x), idx_bytes(y))
    train, test = mnist.load_data()
    assert_split_equal(train, TRAIN)
    assert_split_equal(test, TEST)
    train[0][0, 0, 0] = 1  # writable, like the arrays Keras returns


def test_one_split_of_idx_files_suffices_for_load_split(cache):
    write_idx(cache / "mnist", "train", idx_bytes(TRAIN[0]), idx_bytes(TRAIN[1]))
    assert_split_equal(mnist.load_split("train"), TRAIN)


def test_bad_split_name():
    with pytest.raises(ValueError, match=r"split must be one of 'train', 'test'; got 'validation'"):
        mnist.load_split("validation")


def _corrupt_cases():
    x, y = TEST
    good_images, good_labels = idx_bytes(x), idx_bytes(y)
    # name: (images file bytes, labels file bytes, which file the message must name (0 images, 1 labels), message)
    return {
        "truncated images": (good_images[:-5], good_labels, 0, r"truncated: 3131 bytes of data, expected 3136"),
        "trailing bytes": (good_images + b"\0", good_labels, 0, "trailing bytes"),
        "truncated header": (good_images[:10], good_labels, 0, "truncated IDX header"),
        "bad magic": (b"PK\3\4" + good_images[4:], good_labels, 0, "not an IDX file"),
        "int32 elements": (idx_bytes(x, type_code=0x0C), good_labels, 0, "element type 0x0c"),
        "labels as images": (good_labels, good_labels, 0, "has 1 dimensions, expected 3"),
        "images as labels": (good_images, good_images, 1, "has 3 dimensions, expected 1"),
        "truncated labels": (good_images, good_labels[:-1], 1, r"truncated: 3 bytes of data, expected 4"),
        "27 columns": (idx_bytes(x[:, :, :27].copy()), good_labels, 0, r"expected uint8 \(N, 28, 28\)"),
        "count mismatch": (good_images, idx_bytes(y[:3]), 1, r"expected uint8 \(4,\) to match"),
        "label 10": (good_images, idx_bytes(np.array([1, 2, 10, 3], np.uint8)), 1, "label 10 out of range"),
    }


@pytest.mark.parametrize("case", list(_corrupt_cases()))
def test_corrupt_idx_raises_naming_the_file(cache, case):
    images, labels, named, message = _corrupt_cases()[case]
    paths = write_idx(cache, "test", images, labels)
    with pytest.raises(ValueError, match=message) as info:
        mnist.load_split("test")
    assert str(paths[named]) in str(info.value)


def test_truncated_gzip_raises_naming_the_file(cache):
    images, labels = write_idx(cache, "test", idx_bytes(TEST[0]), idx_bytes(TEST[1]))
    labels.write_bytes(labels.read_bytes()[:-12])
    with pytest.raises(ValueError, match="not a readable gzip file") as info:
        mnist.load_split("test")
    assert str(labels) in str(info.value)


@pytest.mark.parametrize(
    "write, message",
    [
        (lambda p: p.write_bytes(b"not a zip at all"), "not an npz archive"),
        (lambda p: write_npz(p, y_test=None), "missing y_test;"),
        (lambda p: write_npz(p, y_test=TEST[1].astype(np.int64)), r"labels are int64 \(4,\)"),
        (lambda p: write_npz(p, x_test=np.array([object()] * 4)), "unreadable npz archive"),
        (lambda p: p.write_bytes(write_npz(p).replace(TEST[0].tobytes()[:64], bytes(64))), "unreadable npz archive"),
    ],
    ids=["not-zip", "missing-key", "int64-labels", "pickled", "bad-crc"],
)
def test_bad_npz_raises_naming_the_file(cache, write, message):
    cache.mkdir()
    write(cache / "mnist.npz")
    with pytest.raises(ValueError, match=message) as info:
        mnist.load_split("test")
    assert str(cache / "mnist.npz") in str(info.value)


def test_download_fetches_once_and_caches(cache, served, monkeypatch, capsys):
    payload = write_npz(served.root / "mnist.npz")
    monkeypatch.setattr(mnist, "SHA256", hashlib.sha256(payload).hexdigest())
    train, test = mnist.load_data()
    assert_split_equal(train, TRAIN)
    assert_split_equal(test, TEST)
    assert served.requests == ["/mnist.npz"]
    assert f"Downloading data from {served.url}mnist.npz" in capsys.readouterr().out
    assert sorted(os.listdir(cache)) == ["mnist.npz"] and (cache / "mnist.npz").read_bytes() == payload
    assert_split_equal(mnist.load_split("test"), TEST)
    assert_split_equal(mnist.load_data()[0], TRAIN)
    assert served.requests == ["/mnist.npz"]  # served from the cache


def test_download_rejects_a_hash_mismatch_and_leaves_nothing(cache, served):
    write_npz(served.root / "mnist.npz")  # a valid npz, but not Keras' file: its hash is not mnist.SHA256
    with pytest.raises(DatasetNotFoundError, match=f"expected {mnist.SHA256}") as info:
        mnist.load_data()
    assert served.requests == ["/mnist.npz"]
    assert "discarded" in str(info.value)
    assert os.listdir(cache) == []


def _assert_not_found_message(message: str, cache: Path, reason: str, idx_files: list[str]):
    for part in (f"in {cache}", f"{cache / 'mnist'}", "mnist.npz", "KGRAPH_DATASETS", reason, *idx_files):
        assert part in message, (part, message)


def test_missing_file_at_origin_gives_one_clear_error(cache, served):
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data()
    assert served.requests == ["/mnist.npz"]
    _assert_not_found_message(str(info.value), cache, "404",
                              ["train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
    assert isinstance(info.value, OSError) and os.listdir(cache) == []


def test_stopped_origin_gives_one_clear_error(cache, tmp_path, monkeypatch):
    server = Origin(tmp_path)
    server.stop()
    monkeypatch.setenv("KGRAPH_DATASETS_ORIGIN", server.url)
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_split("train")
    _assert_not_found_message(str(info.value), cache, "refused",
                              ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"])
    assert "t10k" not in str(info.value)  # only what load_split("train") needed is listed


def test_only_the_test_split_locally_names_the_missing_training_files(cache, tmp_path):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (cache / "mnist").mkdir(parents=True, exist_ok=True)
        (cache / "mnist" / name).write_bytes((SHARED_DATA / "mnist" / name).read_bytes())
    assert mnist.load_split("test")[0].shape == (10000, 28, 28)
    with pytest.raises(DatasetNotFoundError, match="train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz in"):
        mnist.load_data()


class _Truncating(http.server.BaseHTTPRequestHandler):
    """Promises 100000 bytes, sends 1000, then closes the connection."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"x" * 1000)


def test_truncated_response_leaves_no_file(cache, tmp_path, monkeypatch):
    server = Origin(tmp_path, handler=_Truncating)
    monkeypatch.setenv("KGRAPH_DATASETS_ORIGIN", server.url)
    try:
        with pytest.raises(DatasetNotFoundError, match="IncompleteRead|failed"):
            mnist.load_data()
    finally:
        server.stop()
    assert server.requests == ["/mnist.npz"] and os.listdir(cache) == []


def test_killed_download_leaves_no_torn_file(cache, tmp_path, monkeypatch):
    origin_holder = []

    class Stalling(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(4 << 20))
            self.end_headers()
            self.wfile.write(b"x" * (3 << 19))  # more than the client's 1 MiB read, so part of it reaches the disk
            self.wfile.flush()
            origin_holder[0].release.wait(30)

    server = Origin(tmp_path, handler=Stalling)
    origin_holder.append(server)
    env = {**os.environ, "KGRAPH_DATASETS_ORIGIN": server.url, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", "from kgraph.datasets import mnist; mnist.load_data()"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (cache.is_dir() and any(p.stat().st_size for p in cache.iterdir())):  # bytes on disk
            assert proc.poll() is None and time.monotonic() < deadline, "the download never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        server.stop()
    assert not (cache / "mnist.npz").exists()


def test_cache_dir_defaults_to_the_kgraph_home(monkeypatch):
    monkeypatch.delenv("KGRAPH_DATASETS", raising=False)
    assert download.cache_dir() == config.home() / "datasets"
