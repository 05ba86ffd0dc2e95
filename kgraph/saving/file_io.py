"""Atomic writes and bounded reads: a kill mid-save never leaves a torn file, a hostile file never floods memory.

Every file kgraph writes (models, weights, checkpoints, CSV logs, ONNX exports) goes through the helpers here.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import time
import zipfile
from typing import Callable, Iterator

MAX_CONFIG_BYTES = 64 * 1024 * 1024
MAX_METADATA_BYTES = 1024 * 1024
# A zip member or HDF5 dataset over the floor that inflates this much more than it is stored is refused (a
# decompression bomb, or a huge dataset declared with no data).
MAX_COMPRESSION_RATIO = 1000
INFLATION_FLOOR_BYTES = 64 * 1024 * 1024


TEMP_PREFIX = ".tmp-"
# A temporary this old is stale even if a process with its writer's pid is running (the pid was reused).
STALE_AFTER_SECONDS = 24 * 3600
_counter = itertools.count()


def fsync_file(path: str | os.PathLike) -> None:
    """Flushes a written file to disk."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_dir(directory: str | os.PathLike) -> None:
    """Makes a rename in `directory` durable (a no-op where directories cannot be opened, as on Windows)."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_name(directory: str, path: str) -> str:
    return os.path.join(directory, f"{TEMP_PREFIX}{os.getpid()}-{next(_counter)}-{os.path.basename(path)}")


def make_temp_dir(directory: str | os.PathLike, path: str | os.PathLike) -> str:
    """A new staging folder beside `path` (stale ones of killed writers are removed first); the caller removes it."""
    directory = os.fspath(directory)
    remove_stale_temporaries(directory)
    temp = _temp_name(directory, os.fspath(path))
    os.makedirs(temp)
    return temp


def check_overwrite(path: str, overwrite: bool) -> None:
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yields a temporary path in `path`'s folder whose name ends like `path` (extension checks pass).

    Write the file there; when the block exits normally it is fsynced and renamed over `path`. If the
    block raises, the temporary file is removed and `path` is left as it was.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    remove_stale_temporaries(directory)
    temp = _temp_name(directory, path)
    try:
        yield temp
        fsync_file(temp)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise
    fsync_dir(directory)


def atomic_write(path: str | os.PathLike, content: bytes | str | Callable) -> None:
    """Replaces `path` atomically with `content`: bytes, text (UTF-8), or a function writing to a binary file."""
    with atomic_path(path) as temp:
        with open(temp, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content.encode("utf-8") if isinstance(content, str) else content)


write_bytes_atomic = atomic_write


def _writer_is_gone(name: str, directory: str) -> bool:
    """Whether the process that made temporary `name` (".tmp-<pid>-…") has exited, or the file is a day old."""
    pid = name[len(TEMP_PREFIX):].split("-", 1)[0]
    if pid.isdigit() and int(pid) != os.getpid():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass
    try:
        return os.path.getmtime(os.path.join(directory, name)) < time.time() - STALE_AFTER_SECONDS
    except OSError:
        return False


def remove_stale_temporaries(path: str | os.PathLike) -> None:
    """Deletes the temporaries that killed writers left beside `path` (or, for a directory, inside it).

    Only kgraph's own temporaries (".tmp-<pid>-…") whose writer process has exited, or that are a day old, are
    removed, so a save running in another process at the same time keeps its file.
    """
    path = os.fspath(path)
    directory = path if os.path.isdir(path) else (os.path.dirname(os.path.abspath(path)) or ".")
    if not os.path.isdir(directory):
        return
    for name in os.listdir(directory):
        if name.startswith(TEMP_PREFIX) and _writer_is_gone(name, directory):
            full = os.path.join(directory, name)
            if os.path.isdir(full):
                shutil.rmtree(full, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.remove(full)


def write_directory_atomic(path: str, files: dict[str, bytes]) -> None:
    """Writes `files` (name -> bytes; "a/b" names make subfolders) as the folder `path`, swapping a complete temp
    folder into place."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    remove_stale_temporaries(parent)
    tmp = _temp_name(parent, path)
    os.makedirs(tmp)
    try:
        for name, data in files.items():
            target = os.path.join(tmp, *name.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        fsync_dir(tmp)
        old = None
        if os.path.exists(path):
            if not os.path.isdir(path):
                raise FileExistsError(f"{path} exists and is not a folder; cannot save an unzipped model there")
            old = _temp_name(parent, path)
            os.replace(path, old)
        os.replace(tmp, path)
        fsync_dir(parent)
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
    if info.file_size > INFLATION_FLOOR_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise ValueError(f"{source}: {name} inflates from {info.compress_size} to {info.file_size} bytes; "
                         "refusing a likely decompression bomb")
    with archive.open(info, "r") as f:
        data = f.read(info.file_size + 1)
    if len(data) != info.file_size or (limit is not None and len(data) > limit):
        raise ValueError(f"{source}: {name} does not have the size its archive entry declares")
    return data
