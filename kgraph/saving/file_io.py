"""Atomic writes and bounded reads: a kill mid-save never leaves a torn file, a hostile file never floods memory."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile

MAX_CONFIG_BYTES = 64 * 1024 * 1024
MAX_METADATA_BYTES = 1024 * 1024
# A zip member that inflates this much more than it is stored is refused (a decompression bomb).
MAX_COMPRESSION_RATIO = 1000
_RATIO_FLOOR_BYTES = 64 * 1024 * 1024


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:  # e.g. Windows, where directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_prefix() -> str:
    """Temporary names start like `kgraph.callbacks.atomic_file`'s, so its stale-file cleanup covers ours."""
    return f".tmp-{os.getpid()}-"


def check_overwrite(path: str, overwrite: bool) -> None:
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Writes `data` to `path` through a temp file in the same folder: fsync, rename, fsync the folder."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(), suffix=f"-{os.path.basename(path)}", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def write_directory_atomic(path: str, files: dict[str, bytes]) -> None:
    """Writes `files` (name -> bytes) as the folder `path`, swapping a complete temp folder into place."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=_temp_prefix(), suffix=f"-{os.path.basename(path)}", dir=parent)
    try:
        for name, data in files.items():
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        _fsync_dir(tmp)
        old = None
        if os.path.exists(path):
            if not os.path.isdir(path):
                raise FileExistsError(f"{path} exists and is not a folder; cannot save an unzipped model there")
            old = tempfile.mkdtemp(prefix=_temp_prefix(), suffix=f"-old-{os.path.basename(path)}", dir=parent)
            os.rmdir(old)
            os.replace(path, old)
        os.replace(tmp, path)
        _fsync_dir(parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_member_names(archive: zipfile.ZipFile, source: str) -> None:
    """Refuses archives with members that would land outside a folder they were extracted to."""
    for name in archive.namelist():
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
            raise ValueError(f"{source}: refusing the archive member {name!r}, an absolute path or one that leaves "
                             "the archive's folder ('..')")


def read_member(archive: zipfile.ZipFile, name: str, source: str, limit: int | None = None) -> bytes:
    """Reads one member, refusing ones larger than `limit` or inflating suspiciously (a zip bomb)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ValueError(f"{source}: the archive has no {name!r} (members: {archive.namelist()})") from None
    if limit is not None and info.file_size > limit:
        raise ValueError(f"{source}: {name} is {info.file_size} bytes, over the {limit}-byte limit for it")
    if info.file_size > _RATIO_FLOOR_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise ValueError(f"{source}: {name} inflates from {info.compress_size} to {info.file_size} bytes; "
                         "refusing a likely decompression bomb")
    with archive.open(info, "r") as f:
        data = f.read(info.file_size + 1)
    if len(data) != info.file_size or (limit is not None and len(data) > limit):
        raise ValueError(f"{source}: {name} does not have the size its archive entry declares")
    return data
