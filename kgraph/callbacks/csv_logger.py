"""CSVLogger: writes each epoch's logs as a row of a CSV file."""

from __future__ import annotations

import collections.abc
import csv
import io
import os

import numpy as np

from kgraph.saving.file_io import atomic_write
from kgraph.callbacks.callback import Callback


class CSVLogger(Callback):
    """Streams epoch results to a CSV file: a header `epoch,<keys…>`, then one row per epoch.

    The keys are the first epoch's log keys, sorted; without validation keys, `val_<key>` columns are
    added (filled with "NA") as Keras does. The file is rewritten atomically after each epoch, so it is
    always a complete CSV.

    Args:
        filename: The CSV file.
        separator: The column separator.
        append: Add to an existing file (no second header) instead of overwriting it.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.keys = None
        self._text = ""
        self._header_needed = True

    def on_train_begin(self, logs=None):
        self._text = ""
        self._header_needed = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                self._text = f.read()
            self._header_needed = not self._text.splitlines()[:1]
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["epoch"] + self.keys, delimiter=self.sep,
                                lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        if self._header_needed:
            writer.writeheader()
            self._header_needed = False
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        writer.writerow(row)
        self._text += buffer.getvalue()
        atomic_write(self.filename, self._text)


def _cell(value):
    """A log value as Keras writes it: scalars as they are, sequences as "[a, b, …]"."""
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, collections.abc.Iterable):
        return f'"[{", ".join(map(str, value))}]"'
    return value
