"""Where an application's weights come from: None, "imagenet" (downloaded once, then cached) or a file path."""

from __future__ import annotations

import os
from pathlib import Path

from kgraph import config, utils


def check_weights(weights, include_top: bool, classes: int) -> None:
    """Refuses a `weights` that is neither None, "imagenet" nor an existing file, and ImageNet weights with a
    classifier that is not 1000 classes wide."""
    if not (weights in {"imagenet", None} or (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights))):
        raise ValueError("The `weights` argument should be either `None` (random initialization), 'imagenet' "
                         "(pre-training on ImageNet), or the path to the weights file to be loaded.  "
                         f"Received: weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("If using `weights='imagenet'` with `include_top=True`, `classes` should be 1000.  "
                         f"Received classes={classes}")


def cache_path(file_name: str) -> Path:
    """Where a downloaded file is kept: `models/` under the kgraph home."""
    return config.home() / "models" / file_name


def fetch(file_name: str, url: str, file_hash: str | None = None) -> str:
    """The local path of `file_name`: the cached copy, or one downloaded from `url` with `kgraph.utils.get_file`.

    Raises:
        OSError: naming the URL and the path to put the file at, when it is not cached and cannot be downloaded.
    """
    cached = cache_path(file_name)
    if cached.is_file():
        return str(cached)
    get_file = getattr(utils, "get_file", None)
    if get_file is None:
        reason = "this kgraph has no `kgraph.utils.get_file` to download it"
    else:
        try:
            return get_file(file_name, url, cache_subdir="models", file_hash=file_hash,
                            cache_dir=str(config.home()))
        except Exception as e:
            reason = f"the download failed ({type(e).__name__}: {e})"
    raise OSError(f"Cannot get {file_name!r}: {reason}. Download {url} yourself and put it at {cached}, or pass "
                  "its path as `weights=`.")


def load_weights(model, weights, file_name: str | None = None, url: str | None = None,
                 file_hash: str | None = None) -> None:
    """Loads `weights` into `model`: the ImageNet file (`file_name` from `url`), or the file `weights` names."""
    if weights == "imagenet":
        model.load_weights(fetch(file_name, url, file_hash))
    elif weights is not None:
        model.load_weights(weights)
