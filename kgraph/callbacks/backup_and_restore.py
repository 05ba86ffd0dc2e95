"""BackupAndRestore: keeps fit's whole training state on disk so an interrupted run continues exactly.

The backup is `model.get_training_state()` — weights, optimizer slots and step, metric accumulators, the
dropout RNG key and the position (epoch, next batch) — stored as one `.npz` file of plain arrays plus a
JSON description of the state's structure (no pickle). It is replaced atomically, so a kill at any moment,
even while a backup is being written, leaves the previous backup loadable.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import zipfile

import numpy as np

from kgraph.saving.file_io import atomic_write, remove_stale_temporaries
from kgraph.callbacks.batch_hooks import keep_fused
from kgraph.callbacks.callback import Callback
import jax.numpy as jnp

FORMAT = "kgraph.training_state/1"
STATE_FILE = "training_state.npz"
_NAMEDTUPLE_MODULES = ("kgraph.", "optax.")


class BackupAndRestore(Callback):
    """Backs up the training state during `fit` and restores it at the start of the next `fit`.

    If a run is interrupted (an exception, a kill, a preemption), calling `fit` again with the same
    arguments and a BackupAndRestore on the same `backup_dir` continues where the last backup was made:
    the same epoch, and with an integer `save_freq` the same batch, with weights, optimizer slots, metric
    accumulators and RNG exactly as they were, so the result equals an uninterrupted run.

    Args:
        backup_dir: Directory holding the backup; use it for nothing else (not for another run's backup,
            nor for ModelCheckpoint files).
        save_freq: "epoch" (back up at each epoch end), an integer (back up every that many batches; fit
            then reports single batches to callbacks rather than fusing them), or `False` (never).
        double_checkpoint: Also keep the previous backup and fall back to it if the latest cannot be read.
        delete_checkpoint: Remove `backup_dir` when `fit` completes.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq not in ("epoch", False) and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                                  or save_freq < 1):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. "
                             "Expected either 'epoch', False or a positive integer value.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._state_path = os.path.join(self.backup_dir, STATE_FILE)
        self._prev_state_path = self._state_path + ".bkp"
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1
        if not isinstance(save_freq, int) or isinstance(save_freq, bool):
            keep_fused(self, BackupAndRestore)

    # --- restore ---------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1
        remove_stale_temporaries(self.backup_dir)
        snapshot = self._load_latest()
        if snapshot is None:
            return
        self._check_matches_model(snapshot)
        if snapshot["step"] == 0:
            # An epoch-end backup: the next epoch starts with fresh metrics (the stored ones are the last
            # epoch's, or validation's), as it would have without the interruption.
            snapshot["metrics"] = [[np.asarray(a) for a in m.stateless_reset_state()] for m in self.model.metrics]
        self._last_batch_seen = snapshot["step"] - 1
        self.model.optimizer.state = snapshot["optimizer"]
        self.model.resume_training_from(snapshot)

    def _load_latest(self) -> dict | None:
        """The latest backup, or with `double_checkpoint` the previous one if the latest cannot be read."""
        paths = [self._state_path] + ([self._prev_state_path] if self.double_checkpoint else [])
        paths = [p for p in paths if os.path.exists(p)]
        for i, path in enumerate(paths):
            try:
                return load_training_state(path)
            except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as error:
                if i == len(paths) - 1:
                    raise ValueError(f"BackupAndRestore cannot read the backup {path!r} in `backup_dir` "
                                     f"{self.backup_dir!r} (expected a training state this callback wrote): "
                                     f"{type(error).__name__}: {error}. Delete the file to start afresh, or use "
                                     "`double_checkpoint=True` to keep a previous backup to fall back on.") from error
        return None

    def _check_matches_model(self, snapshot: dict) -> None:
        stored = sorted(tuple(np.shape(a)) for a in list(snapshot["trainable"]) + list(snapshot["non_trainable"]))
        current = sorted(tuple(v.shape) for v in self.model.weights)
        if stored != current:
            raise ValueError(f"The backup in {self.backup_dir!r} was written for a different model: its weights have "
                             f"shapes {stored}, model {self.model.name!r} has {current}. Use a new `backup_dir` "
                             "or delete this one.")

    # --- back up ---------------------------------------------------------------------------------------
    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        self._last_batch_seen = -1
        if self.save_freq == "epoch":
            self._save()

    def _should_save_on_batch(self, batch: int) -> bool:
        if not isinstance(self.save_freq, int) or isinstance(self.save_freq, bool):
            return False
        added = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _save(self) -> None:
        snapshot = self.model.get_training_state()
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._state_path):
            os.replace(self._state_path, self._prev_state_path)
        save_training_state(self._state_path, snapshot)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)


# --- the file format -------------------------------------------------------------------------------------
def _encode(node, leaves: list) -> dict:
    """The JSON description of one pytree node; array leaves are appended to `leaves`."""
    if isinstance(node, dict):
        return {"dict": [[key, _encode(value, leaves)] for key, value in node.items()]}
    if isinstance(node, tuple) and hasattr(type(node), "_fields"):
        cls = type(node)
        return {"namedtuple": f"{cls.__module__}:{cls.__qualname__}", "items": [_encode(v, leaves) for v in node]}
    if isinstance(node, (list, tuple)):
        return {type(node).__name__: [_encode(v, leaves) for v in node]}
    if node is None:
        return {"none": None}
    if isinstance(node, (bool, int, float, str)) and not isinstance(node, np.generic):
        return {"python": node}
    array = np.asarray(node)
    entry = {"leaf": len(leaves), "dtype": array.dtype.name}
    if type(array.dtype).__module__.startswith("ml_dtypes") or array.dtype.kind == "V":
        array = array.view(f"u{array.dtype.itemsize}")  # bfloat16 & co. travel as their bits
    leaves.append(array)
    return entry


def _namedtuple_class(name: str) -> type:
    module, _, qualname = name.partition(":")
    if not module.startswith(_NAMEDTUPLE_MODULES):
        raise ValueError(f"Refusing to rebuild {name!r}: only kgraph and optax state types are restored")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, tuple) and hasattr(obj, "_fields")):
        raise ValueError(f"{name!r} is not a NamedTuple type")
    return obj


def _decode(entry: dict, leaves):
    """Rebuilds the pytree node `_encode` described, taking arrays from `leaves`."""
    if "leaf" in entry:
        array = leaves[f"leaf_{entry['leaf']}"]
        dtype = _dtype(entry["dtype"])
        return array.view(dtype) if array.dtype != dtype else array
    if "dict" in entry:
        return {key: _decode(item, leaves) for key, item in entry["dict"]}
    if "namedtuple" in entry:
        return _namedtuple_class(entry["namedtuple"])(*[_decode(item, leaves) for item in entry["items"]])
    if "list" in entry:
        return [_decode(item, leaves) for item in entry["list"]]
    if "tuple" in entry:
        return tuple(_decode(item, leaves) for item in entry["tuple"])
    if "none" in entry:
        return None
    if "python" in entry:
        return entry["python"]
    raise ValueError(f"Unknown entry {sorted(entry)} in a training-state file")


def _dtype(name: str):
    return np.dtype(jnp.dtype(name))


def save_training_state(path: str, snapshot: dict) -> None:
    """Writes `snapshot` (a `get_training_state()` dict) to `path` atomically, as arrays plus JSON structure."""
    leaves: list = []
    structure = {"format": FORMAT, "tree": _encode(snapshot, leaves)}
    arrays = {f"leaf_{i}": leaf for i, leaf in enumerate(leaves)}
    arrays["structure"] = np.array(json.dumps(structure))
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_training_state(path: str) -> dict:
    """Reads a file `save_training_state` wrote (no pickle is ever loaded)."""
    with np.load(path, allow_pickle=False) as data:
        structure = json.loads(str(data["structure"]))
        if structure.get("format") != FORMAT:
            raise ValueError(f"{path} is not a kgraph training-state file (format {structure.get('format')!r})")
        leaves = {name: data[name] for name in data.files if name.startswith("leaf_")}
    return _decode(structure["tree"], leaves)
