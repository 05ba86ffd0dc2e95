"""JAX's persistent compilation cache, on by default, so a re-run of the same script skips XLA compilation.

`KGRAPH_COMPILATION_CACHE` chooses: unset or "1" caches under `cache/` in kgraph's home (`~/.kgraph`, or
`$KGRAPH_HOME`), "0" turns caching off, any
other value is the directory to use. A cache directory the user already gave JAX (`jax_compilation_cache_dir`,
`JAX_COMPILATION_CACHE_DIR`) is left as it is.
"""

from __future__ import annotations

import os

import jax

from kgraph import config

ENV = "KGRAPH_COMPILATION_CACHE"
# Executables that compile faster than this are not worth a disk round trip.
MIN_COMPILE_SECONDS = 0.1


def directory_from_environment() -> str | None:
    """The cache directory `KGRAPH_COMPILATION_CACHE` asks for, or None when it turns caching off."""
    value = os.environ.get(ENV, "").strip()
    if value == "0":
        return None
    return str(config.home() / "cache") if value in ("", "1") else os.path.expanduser(value)


def set_directory(path: str | None) -> None:
    """Caches compiled executables under `path` (created if missing), or stops caching when `path` is None.

    Call it before the first `fit`/`predict` of the process: JAX decides once, at its first compilation.
    """
    if path is None:
        jax.config.update("jax_enable_compilation_cache", False)
        return
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)


def enable_default() -> None:
    """Applies `KGRAPH_COMPILATION_CACHE` unless the user configured JAX's cache directory themselves."""
    if jax.config.jax_compilation_cache_dir:
        return
    try:
        set_directory(directory_from_environment())
    except OSError:
        set_directory(None)
