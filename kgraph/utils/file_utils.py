"""`get_file`: download a file once into the cache (or take a local path or file:// URL), verify, extract."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from kgraph import config


def _hasher(algorithm: str, file_hash: str | None):
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    if algorithm in ("auto", "md5"):
        return hashlib.md5()
    raise ValueError(f"`hash_algorithm` must be 'auto', 'sha256' or 'md5'. Received: hash_algorithm={algorithm!r}")


def hash_file(path, algorithm: str = "sha256", file_hash: str | None = None) -> str:
    """The hex digest of the file at `path`."""
    hasher = _hasher(algorithm, file_hash)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(path, file_hash: str, algorithm: str = "auto") -> bool:
    """Whether the file at `path` has the digest `file_hash` (md5 or sha256, by length when "auto")."""
    return hash_file(path, algorithm, file_hash) == str(file_hash)


def _cache_root(cache_dir) -> Path:
    root = Path(cache_dir).expanduser() if cache_dir is not None else config.home()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    if not os.access(root, os.W_OK):
        root = Path(config.home())
    return root


def _download(origin: str, target: Path) -> None:
    """Copies `origin` (a URL, file:// URL or local path) to `target` through a temp file renamed into place."""
    source = urllib.parse.urlsplit(origin)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.part")
    try:
        if source.scheme in ("", "file") or (len(source.scheme) == 1 and os.name == "nt"):
            local = urllib.request.url2pathname(source.path) if source.scheme == "file" else origin
            if not os.path.isfile(local):
                raise FileNotFoundError(f"get_file: origin {origin!r} is not an existing file")
            shutil.copyfile(local, tmp)
        else:
            print(f"Downloading data from {origin}")
            try:
                with urllib.request.urlopen(origin, timeout=60) as response, open(tmp, "xb") as out:
                    shutil.copyfileobj(response, out, 1 << 20)
            except urllib.error.HTTPError as e:
                raise OSError(f"URL fetch failure on {origin}: {e.code} -- {e.msg}") from e
            except (urllib.error.URLError, OSError) as e:
                raise OSError(f"URL fetch failure on {origin}: {getattr(e, 'reason', e)}") from e
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def extract_archive(path, destination, archive_format="auto") -> bool:
    """Extracts a tar or zip archive into `destination`; False if `path` is neither. Members that would land
    outside `destination` are refused."""
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format or []))
    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                archive.extractall(destination, filter="data")
            return True
        if fmt == "zip" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                root = os.path.realpath(destination)
                for name in archive.namelist():
                    if not os.path.realpath(os.path.join(root, name)).startswith(root + os.sep):
                        raise ValueError(f"Archive {path} has a member outside its folder: {name!r}")
                archive.extractall(destination)
            return True
    return False


def get_file(fname: str | None = None, origin: str | None = None, untar: bool = False, md5_hash: str | None = None,
             file_hash: str | None = None, cache_subdir: str = "datasets", hash_algorithm: str = "auto",
             extract: bool = False, archive_format: str = "auto", cache_dir=None, force_download: bool = False) -> str:
    """Downloads `origin` into `<cache_dir>/<cache_subdir>/<fname>` unless a valid copy is already there.

    Args:
        fname: the cached file's name; the URL's last path component when None.
        origin: the URL (http, https, file://) or a local path to copy from.
        untar: deprecated form of `extract=True, archive_format="tar"`.
        md5_hash: deprecated form of `file_hash` with `hash_algorithm="md5"`.
        file_hash: the expected md5 or sha256 digest; a cached copy that does not match is fetched again.
        cache_subdir: the folder under the cache dir.
        hash_algorithm: "md5", "sha256" or "auto" (guessed from the digest's length).
        extract: extract a tar/zip archive and return the extraction folder.
        archive_format: "auto", "tar", "zip", or a list of them.
        cache_dir: the cache's root; the kgraph home (`$KGRAPH_HOME` or ~/.kgraph) when None.
        force_download: fetch even when a cached copy exists.

    Returns:
        The path of the cached file, or of the extraction folder.
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    datadir = _cache_root(cache_dir) / cache_subdir
    datadir.mkdir(parents=True, exist_ok=True)
    provided = fname is not None
    fname = os.fspath(fname) if provided else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not fname:
        raise ValueError(f"Can't parse the file name from the origin provided: {origin!r}. "
                         "Please specify the `fname` argument.")
    if os.sep in fname:
        raise ValueError("`fname` must be a file name, not a path; use `cache_dir` for the parent directory. "
                         f"Received: fname={fname}")
    extraction_dir = None
    if extract or untar:
        if provided and "." in fname:
            target = datadir / fname
            extraction_dir = datadir / f"{fname[:fname.find('.')]}_extracted"
        else:
            target, extraction_dir = datadir / f"{fname}_archive", datadir / fname
    else:
        target = datadir / fname
    download = force_download or not target.exists()
    if not download and file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
        print(f"A local file was found, but its {hash_algorithm} hash does not match {file_hash}; fetching it again.")
        download = True
    if download:
        _download(origin, target)
        if file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
            target.unlink()
            raise ValueError(f"Incomplete or corrupted file detected. The {hash_algorithm} file hash does not "
                             f"match the provided value of {file_hash}.")
    if extraction_dir is not None:
        if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
            raise ValueError(f"Could not extract {target}: it is not a {archive_format} archive")
        return str(extraction_dir)
    return str(target)
