"""Download-and-cache helper for datasets: where cached files live and an atomic, hash-checked fetch."""

import hashlib
import http.client
import os
import secrets
import urllib.request
from pathlib import Path
from typing import BinaryIO

from kgraph import config

DEFAULT_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets"


class DownloadError(OSError):
    """A dataset file could not be fetched, or what was fetched did not match its sha256."""


class DatasetNotFoundError(OSError):
    """A dataset is neither available locally nor downloadable; the message says how to provide it."""


def cache_dir() -> Path:
    """Where datasets are looked for and cached: $KGRAPH_DATASETS, else <kgraph home>/datasets."""
    return Path(os.environ.get("KGRAPH_DATASETS") or config.home() / "datasets").expanduser()


def origin(filename: str) -> str:
    """The URL of `filename` under $KGRAPH_DATASETS_ORIGIN, else under Keras' dataset bucket."""
    return f"{(os.environ.get('KGRAPH_DATASETS_ORIGIN') or DEFAULT_ORIGIN).rstrip('/')}/{filename}"


def fetch(url: str, destination: Path, sha256: str, timeout: float = 60.0) -> Path:
    """Download `url` to `destination`, verifying its sha256.

    The bytes go to a temp file beside `destination` that is fsynced and renamed into place only once the
    hash matches, so an interrupted or corrupted download never leaves a file at `destination`.

    Args:
        url: what to download (http, https or file URL).
        destination: the cache file to create; its directory is created if needed.
        sha256: expected hex digest of the file.
        timeout: seconds to wait on the connection before giving up.

    Raises:
        DownloadError: the fetch failed or the hash did not match.
    """
    print(f"Downloading data from {url}")
    tmp = destination.with_name(f".{destination.name}.{secrets.token_hex(8)}.part")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        out = open(tmp, "xb")  # "x": a fresh file, created with the umask's permissions
    except OSError as e:
        raise DownloadError(f"downloading {url} failed: cannot write to {destination.parent} ({e})") from e
    try:
        digest = _stream(url, out, timeout)
        if digest != sha256:
            raise DownloadError(f"downloading {url} failed: got sha256 {digest}, expected {sha256}; discarded it")
        os.replace(tmp, destination)
    except BaseException:
        os.unlink(tmp)
        raise
    return destination


def _stream(url: str, out: BinaryIO, timeout: float) -> str:
    """Copy `url` into `out`, fsync and close it; return the sha256 hex digest of the bytes."""
    digest = hashlib.sha256()
    try:
        with out, urllib.request.urlopen(url, timeout=timeout) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except (OSError, http.client.HTTPException) as e:
        raise DownloadError(f"downloading {url} failed: {e}") from e
    return digest.hexdigest()
