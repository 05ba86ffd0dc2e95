"""ModelCheckpoint: saves the model (or its weights) every epoch or every N batches, optionally only the best."""

from __future__ import annotations

import os
import warnings

import numpy as np

from kgraph.saving.file_io import atomic_path, remove_stale_temporaries
from kgraph.callbacks.batch_hooks import keep_fused
from kgraph.callbacks.monitor_callback import MonitorCallback


class ModelCheckpoint(MonitorCallback):
    """Saves the model with `model.save` (or `model.save_weights`) during `fit`.

    Every file is written to a temporary name beside its target and renamed over it, so a checkpoint on
    disk is always complete, even if the process is killed while saving.

    Args:
        filepath: Where to save; may hold `{epoch}` (1-based), `{batch}` (1-based, with an integer
            `save_freq`) and any log key with a format spec, e.g. `"model-{epoch:02d}-{val_loss:.2f}.keras"`.
            Must end in ".keras" (or ".h5") for full saves, ".weights.h5" with `save_weights_only`.
        monitor: The log key deciding what is "best". Defaults to "val_loss".
        verbose: 1 prints a line per save decision.
        save_best_only: Save only when `monitor` improves on the best value so far.
        save_weights_only: Save weights (`model.save_weights`) rather than the whole model.
        mode: "min", "max" or "auto" (inferred from the metric).
        save_freq: "epoch", or an integer: save after every that many batches (fit then reports single
            batches to callbacks rather than fusing them).
        initial_value_threshold: The best value to beat before the first save (with `save_best_only`).
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or integer values")
        if save_weights_only:
            if not self.filepath.endswith(".weights.h5"):
                raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided "
                                 f"must end in `.weights.h5` (Keras weights format). Received: filepath={self.filepath}")
        elif not self.filepath.endswith((".keras", ".h5")):
            raise ValueError(f"The filepath provided must end in `.keras` (Keras model format). "
                             f"Received: filepath={self.filepath}")
        if save_freq == "epoch":
            keep_fused(self, ModelCheckpoint)

    def on_train_begin(self, logs=None):
        remove_stale_temporaries(self.filepath)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        """Counts batches (fused ones too) and says when `save_freq` of them have passed since the last save."""
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1  # a new epoch
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}", flush=True)
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=2)
            return True
        if np.ndim(current) > 0:
            warnings.warn(f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                          "Falling back to `save_best_only=False`.", stacklevel=2)
            return True
        current = float(current)
        if self.best is None:
            best_str = "inf" if self.monitor_op(0.0, 1.0) else "-inf"
        else:
            best_str = f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, "
                      f"saving model to {filepath}", flush=True)
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}", flush=True)
        return False

    def _save_model(self, epoch: int, batch: int | None, logs) -> None:
        logs = {k: _scalar(v) for k, v in (logs or {}).items()}
        if self.monitor_op is None:
            self._set_monitor_op()
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IOError(f"Please specify a non-directory filepath for ModelCheckpoint. "
                          f"Filepath used is an existing directory: {filepath}")
        self.model.jax_state_sync()
        with atomic_path(filepath) as temp:
            if self.save_weights_only:
                self.model.save_weights(temp)
            else:
                self.model.save(temp)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}", flush=True)

    def _get_file_path(self, epoch: int, batch: int | None, logs: dict) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}') from e


def _scalar(value):
    """A log value as a Python float where it is a scalar (batch logs may still be device arrays)."""
    if np.ndim(value) == 0 and not isinstance(value, str):
        try:
            return float(np.asarray(value))
        except (TypeError, ValueError):
            return value
    return value
