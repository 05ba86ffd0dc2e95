"""Atomic file replacement: write a temporary file beside the target, fsync it, rename it over the target.

A reader (or a restarted process) sees either the previous complete file or the new complete one, never a
partial write, whatever moment the writer is killed at.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from typing import Callable, Iterator

TEMP_PREFIX = ".tmp-"
_counter = itertools.count()


def _fsync_directory(directory: str) -> None:
    """Makes a rename in `directory` durable (a no-op where directories cannot be opened, as on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yields a temporary path in `path`'s directory whose name ends like `path` (extension checks pass).

    Write the file there; when the block exits normally it is fsynced and renamed over `path`. If the
    block raises, the temporary file is removed and `path` is left as it was.
    """
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    temp = os.path.join(directory, f"{TEMP_PREFIX}{os.getpid()}-{next(_counter)}-{os.path.basename(path)}")
    try:
        yield temp
        with open(temp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise
    _fsync_directory(directory)


def atomic_write(path: str | os.PathLike, content: bytes | str | Callable) -> None:
    """Replaces `path` atomically with `content`: bytes, text (UTF-8), or a function writing to a binary file."""
    with atomic_path(path) as temp:
        with open(temp, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content.encode("utf-8") if isinstance(content, str) else content)


def remove_stale_temporaries(path: str | os.PathLike) -> None:
    """Deletes temporary files a killed writer left beside `path` (or, for a directory, inside it)."""
    path = os.fspath(path)
    directory = path if os.path.isdir(path) else (os.path.dirname(path) or ".")
    if not os.path.isdir(directory):
        return
    for name in os.listdir(directory):
        if name.startswith(TEMP_PREFIX):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(directory, name))
