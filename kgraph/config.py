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

from kgraph.dtype_policies import dtype_policy as _policies

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


_FLAGS = {
    "interactive_logging": True,
    "traceback_filtering": True,
    "flash_attention": None,
    "unsafe_deserialization": False,
    "max_epochs": int(os.environ["KERAS_MAX_EPOCHS"]) if os.environ.get("KERAS_MAX_EPOCHS") else None,
    "max_steps_per_epoch": (int(os.environ["KERAS_MAX_STEPS_PER_EPOCH"])
                            if os.environ.get("KERAS_MAX_STEPS_PER_EPOCH") else None),
}


def set_backend(backend: str) -> None:
    """Keras' backend switch; kgraph always computes with JAX, so only "jax" is accepted.

    Args:
        backend: "jax".
    """
    _checked("backend", backend)


def enable_interactive_logging() -> None:
    """Progress bars and summaries write to stdout (the default)."""
    _FLAGS["interactive_logging"] = True


def disable_interactive_logging() -> None:
    """Progress bars and summaries go to Python's `logging` (logger "kgraph") instead of stdout."""
    _FLAGS["interactive_logging"] = False


def is_interactive_logging_enabled() -> bool:
    """Whether progress output is written to stdout."""
    return _FLAGS["interactive_logging"]


def enable_traceback_filtering() -> None:
    """Kept for Keras code: kgraph's errors are raised from its own frames, named, without JAX internals."""
    _FLAGS["traceback_filtering"] = True


def disable_traceback_filtering() -> None:
    """Recorded for Keras code; `is_traceback_filtering_enabled()` reports it."""
    _FLAGS["traceback_filtering"] = False


def is_traceback_filtering_enabled() -> bool:
    """Whether traceback filtering is on (the default)."""
    return _FLAGS["traceback_filtering"]


def enable_flash_attention() -> None:
    """Ask attention layers for a flash-attention kernel where the device has one (XLA picks it on GPU)."""
    _FLAGS["flash_attention"] = True


def disable_flash_attention() -> None:
    """Attention layers use the plain softmax(QK^T)V formulation."""
    _FLAGS["flash_attention"] = False


def is_flash_attention_enabled() -> bool | None:
    """True or False when set, None (automatic) by default, as in Keras."""
    return _FLAGS["flash_attention"]


def is_nnx_enabled() -> bool:
    """Flax NNX integration; kgraph has none, so always False."""
    return False


def enable_unsafe_deserialization() -> None:
    """Lets `load_model` rebuild Python lambdas from configs (safe mode off). Only for files you trust."""
    _FLAGS["unsafe_deserialization"] = True


def is_unsafe_deserialization_enabled() -> bool:
    """Whether `enable_unsafe_deserialization()` was called."""
    return _FLAGS["unsafe_deserialization"]


def _positive_or_none(name: str, value) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"`{name}` must be a positive int or None. Received: {name}={value!r}")
    return value


def set_max_epochs(max_epochs: int | None) -> None:
    """Caps the epochs of every `fit` (for quick debugging runs); None removes the cap.

    Args:
        max_epochs: a positive int or None. `$KERAS_MAX_EPOCHS` sets it at import.
    """
    _FLAGS["max_epochs"] = _positive_or_none("max_epochs", max_epochs)


def max_epochs() -> int | None:
    """The cap `set_max_epochs` set, or None."""
    return _FLAGS["max_epochs"]


def set_max_steps_per_epoch(max_steps_per_epoch: int | None) -> None:
    """Caps the steps of every epoch of `fit`/`evaluate`/`predict`; None removes the cap.

    Args:
        max_steps_per_epoch: a positive int or None. `$KERAS_MAX_STEPS_PER_EPOCH` sets it at import.
    """
    _FLAGS["max_steps_per_epoch"] = _positive_or_none("max_steps_per_epoch", max_steps_per_epoch)


def max_steps_per_epoch() -> int | None:
    """The cap `set_max_steps_per_epoch` set, or None."""
    return _FLAGS["max_steps_per_epoch"]


_policies.use_floatx(floatx)
dtype_policy = _policies.dtype_policy
set_dtype_policy = _policies.set_dtype_policy
