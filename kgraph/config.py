"""Global settings (float type, epsilon, image layout), read at import from $KGRAPH_HOME/kgraph.json.

Mirrors Keras' keras.json: a missing file is created with the defaults, a corrupt one is ignored,
and a home that cannot be written falls back to a directory under the system temp dir.
"""

import json
import math
import os
import secrets
import tempfile
from pathlib import Path

_DEFAULTS = {"floatx": "float32", "epsilon": 1e-7, "backend": "jax", "image_data_format": "channels_last"}
_CHOICES = {
    "floatx": ("bfloat16", "float16", "float32", "float64"),
    "backend": ("jax",),
    "image_data_format": ("channels_first", "channels_last"),
}


def _checked(key: str, value: object, source: str = "") -> object:
    """Return `value` if it is allowed for `key`, else raise a ValueError naming key, value and allowed values."""
    prefix = f"{source}: " if source else ""
    if key == "epsilon":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{prefix}epsilon must be a finite number >= 0, got {value!r}")
        return float(value)
    if value not in _CHOICES[key]:
        raise ValueError(f"{prefix}{key} must be one of {', '.join(map(repr, _CHOICES[key]))}; got {value!r}")
    return value


def _writable_home(requested: Path) -> Path:
    """The requested home if it can be created and written, else `<tempdir>/.kgraph` (as Keras falls back to /tmp)."""
    fallback = Path(tempfile.gettempdir()) / ".kgraph"
    for candidate in (requested, fallback):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    return fallback


def _write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temp file in the same dir, so readers never see a partial file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    f = open(tmp, "x")
    try:
        with f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _load(path: Path) -> dict:
    """Settings from `path` over the defaults; writes the defaults there if the file does not exist."""
    settings = dict(_DEFAULTS)
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        try:
            _write_atomically(path, json.dumps(_DEFAULTS, indent=4) + "\n")
        except OSError:
            pass  # an unwritable home only costs the persisted defaults, as in Keras
        return settings
    except (OSError, ValueError):
        return settings  # unreadable or not JSON: Keras ignores the file
    if isinstance(stored, dict):
        for key in _DEFAULTS.keys() & stored.keys():
            settings[key] = _checked(key, stored[key], source=str(path))
    return settings


_REQUESTED_HOME = Path(os.environ.get("KGRAPH_HOME") or "~/.kgraph").expanduser()
_HOME = _writable_home(_REQUESTED_HOME)
# A read-only home may still hold the user's settings; read them from there when present.
_SETTINGS = _load(
    _REQUESTED_HOME / "kgraph.json" if os.path.isfile(_REQUESTED_HOME / "kgraph.json") else _HOME / "kgraph.json"
)


def home() -> Path:
    """The writable kgraph home: $KGRAPH_HOME or ~/.kgraph, or `<tempdir>/.kgraph` when that is not writable."""
    return _HOME


def floatx() -> str:
    """The default float type, e.g. "float32"."""
    return _SETTINGS["floatx"]


def set_floatx(value: str) -> None:
    """Set the default float type.

    Args:
        value: one of "bfloat16", "float16", "float32", "float64".
    """
    _SETTINGS["floatx"] = _checked("floatx", value)


def epsilon() -> float:
    """The fuzz factor added to denominators to avoid division by zero."""
    return _SETTINGS["epsilon"]


def set_epsilon(value: float) -> None:
    """Set the fuzz factor.

    Args:
        value: a finite number >= 0.
    """
    _SETTINGS["epsilon"] = _checked("epsilon", value)


def image_data_format() -> str:
    """The default image layout: "channels_last" (N, H, W, C) or "channels_first" (N, C, H, W)."""
    return _SETTINGS["image_data_format"]


def set_image_data_format(value: str) -> None:
    """Set the default image layout.

    Args:
        value: "channels_last" or "channels_first".
    """
    _SETTINGS["image_data_format"] = _checked("image_data_format", value)


def backend() -> str:
    """The backend kgraph computes with: always "jax"."""
    return _SETTINGS["backend"]
