"""What a data source looks like to the trainer: an iterator of host batches `(x, y, sample_weight)` per epoch.

`DataAdapter` is the interface. `StreamAdapter` implements it once for every source read batch by batch
(PyDataset, generators, torch DataLoader, tf.data): Keras' epoch rules, and the normalization and checking
of each batch. A subclass only says how to start a pass over its source and how long a pass is.
"""

from __future__ import annotations

import warnings
from typing import Iterator

import numpy as np

from kgraph.runtime.data_adapter import class_weights_to_sample_weights, num_samples, standardize
from kgraph import tree

RAN_OUT_OF_DATA = ("Your input ran out of data; interrupting training. Make sure that your dataset or generator "
                   "can generate at least `steps_per_epoch * epochs` batches. You may need to use the "
                   "`.repeat()` function when building your dataset.")


def unpack_x_y_sample_weight(data) -> tuple:
    """Keras' rule for one batch: a tuple (or list) of 1, 2 or 3 is `(x, y, sample_weight)`; anything else is x."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) in (1, 2, 3):
        return data + (None,) * (3 - len(data))
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                     f"found a {type(data).__name__} of {len(data)} elements")


def to_numpy(leaf):
    """A torch tensor as a NumPy array (detached, on the CPU); anything else is left to `standardize`."""
    if type(leaf).__module__.startswith("torch") and hasattr(leaf, "detach"):
        return leaf.detach().cpu().numpy()
    return leaf


def signature(value):
    """The per-batch invariant of a standardized structure: its nesting, and each leaf's dtype and feature shape."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {key: signature(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [signature(item) for item in value]
    return (str(value.dtype), tuple(int(d) for d in value.shape[1:]))


def _describe(sig) -> str:
    if sig is None:
        return "None"
    if isinstance(sig, dict):
        return f"a dict with keys {sorted(sig)}"
    if isinstance(sig, list):
        return f"a list of {len(sig)}"
    dtype, features = sig
    return f"a {dtype} array of shape {(None,) + features}"


def signature_difference(expected, got, path: str) -> str | None:
    """The first place where two signatures differ, as "path: expected …, got …", or None."""
    same_kind = type(expected) is type(got)
    if same_kind and isinstance(expected, dict) and set(expected) == set(got):
        return next((d for key in sorted(expected)
                     if (d := signature_difference(expected[key], got[key], f"{path}[{key!r}]"))), None)
    if same_kind and isinstance(expected, list) and len(expected) == len(got):
        return next((d for i, (e, g) in enumerate(zip(expected, got))
                     if (d := signature_difference(e, g, f"{path}[{i}]"))), None)
    if expected == got:
        return None
    return f"{path}: expected {_describe(expected)}, got {_describe(got)}"


def apply_class_weight(y, sample_weight, class_weight: dict):
    """Sample weights for one batch from `{class: weight}` (sparse or one-hot `y`), times any given weights."""
    if not isinstance(y, np.ndarray):
        raise ValueError("`class_weight` needs each batch to have a single array of targets `y`, got "
                         + ("no targets" if y is None else type(y).__name__))
    weights = class_weights_to_sample_weights(y, class_weight)
    if sample_weight is None:
        return weights
    if not isinstance(sample_weight, np.ndarray):
        raise ValueError(f"`class_weight` can only be combined with a single array of sample weights, got "
                         f"{type(sample_weight).__name__}")
    return sample_weight * weights.reshape((-1,) + (1,) * (sample_weight.ndim - 1))


class DataAdapter:
    """A source of batches for fit/evaluate/predict.

    Attributes:
        num_batches: batches per epoch, or None when unknown or endless.
        can_split: whether `validation_split` can hold out part of the data (only in-memory arrays can).

    `batches(epoch)` yields one epoch of host batches `(x, y, sample_weight)` (missing parts None), each
    leaf a NumPy array (float64 as float32, int64 as int32), each structure (array, list or dict of arrays)
    as the source gives it; `epoch` (default: one more than last time) picks the shuffle order of sources
    that shuffle, so a resumed run sees the same order. Call `on_epoch_end()` after each epoch and
    `close()` when done (or use `with`).
    """

    num_batches: int | None = None
    can_split = False

    def batches(self, epoch: int | None = None) -> Iterator[tuple]:
        raise NotImplementedError

    def peek(self) -> tuple:
        """The first batch the next epoch will yield, without using it up (to trace the model from)."""
        raise NotImplementedError

    def on_epoch_end(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class StreamAdapter(DataAdapter):
    """A source read batch by batch, following Keras' epoch rules.

    Without `steps`, every epoch is one full pass over the source. With `steps`, an epoch is `steps`
    batches and the next epoch continues where the last one stopped; a source that runs out first ends
    the epoch early with Keras' "ran out of data" warning, and a re-iterable source starts over next epoch.

    Subclasses set `source_name` and `reiterable`, pass the length of one pass (None if unknown) to
    `__init__`, and implement `_open()`, a fresh iterator over the source's raw batches.

    Args:
        steps: batches per epoch (`steps_per_epoch`), or None for one pass.
        class_weight: `{class_index: weight}`, turned into (or multiplied into) each batch's sample weights.
    """

    source_name = "data source"
    reiterable = True

    def __init__(self, pass_length: int | None, steps: int | None = None, class_weight: dict | None = None):
        if steps is not None and (not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps <= 0):
            raise ValueError(f"`steps_per_epoch` must be a positive integer or None, got {steps!r}")
        if class_weight is not None and not isinstance(class_weight, dict):
            raise TypeError(f"`class_weight` must be a dict {{class_index: weight}}, got {type(class_weight).__name__}")
        self.steps = int(steps) if steps is not None else None
        self.pass_length = pass_length
        self.num_batches = self.steps if self.steps is not None else pass_length
        self.class_weight = class_weight
        self._iterator = None
        self._position = 0  # raw batches drawn from the current pass
        self._fresh = False  # the current pass has not been handed to an epoch yet
        self._pending = None  # a peeked batch, served first
        self._expected = None  # the signature of the first batch; every later batch must match it
        self._next_epoch = 0
        self._pass_epoch = 0  # the epoch index the current pass was opened for (a PyDataset's shuffle order)

    def _open(self) -> Iterator:
        raise NotImplementedError

    def _epoch_begin(self) -> None:
        """Hook run at the start of each epoch."""

    def _start_pass(self) -> None:
        self._pass_epoch = self._next_epoch
        self._iterator = self._open()
        self._position = 0
        self._fresh = True

    def _needs_new_pass(self) -> bool:
        if self._iterator is None:
            return True
        if self.steps is None:
            return not self._fresh
        return self.pass_length is not None and self._position >= self.pass_length

    def _draw(self):
        """The next normalized batch of the current pass, or None when the source has stopped."""
        try:
            raw = next(self._iterator)
        except StopIteration:
            return None
        self._position += 1
        return self._normalize(raw, self._position - 1)

    def peek(self) -> tuple:
        if self._pending is None:
            if self._needs_new_pass():
                self._start_pass()
            self._pending = self._draw()
            if self._pending is None:
                raise ValueError(f"The {self.source_name} yielded no batches")
            self._fresh = True
        return self._pending

    def batches(self, epoch: int | None = None) -> Iterator[tuple]:
        if epoch is not None and epoch != self._next_epoch:
            self._next_epoch = epoch
            if self.reiterable and self.steps is None:  # a peeked pass was opened for another epoch
                self._pending = self._iterator = None
        self._epoch_begin()
        if self._pending is None and self._needs_new_pass():
            self._start_pass()
        self._next_epoch += 1
        self._fresh = False
        count = 0
        while self.num_batches is None or count < self.num_batches:
            if self._pending is not None:
                batch, self._pending = self._pending, None
            else:
                if self.steps is not None and self.pass_length is not None and self._position >= self.pass_length:
                    warnings.warn(RAN_OUT_OF_DATA, stacklevel=2)
                    self._iterator = None
                    break
                batch = self._draw()
                if batch is None:
                    if self.steps is not None or count == 0:
                        warnings.warn(RAN_OUT_OF_DATA, stacklevel=2)
                    elif self.reiterable and self.pass_length is None:
                        self.num_batches = count  # learned from the first full pass, as Keras does
                    self._iterator = None
                    break
            count += 1
            yield batch

    def _normalize(self, raw, position: int) -> tuple:
        """One raw batch as `(x, y, sample_weight)` of NumPy arrays, checked against the first batch."""
        where = f"{self.source_name} batch {position}"
        try:
            x, y, sample_weight = (tree.map_structure(to_numpy, part) for part in unpack_x_y_sample_weight(raw))
            if x is None:
                raise ValueError("`x` is None")
            x, y, sample_weight = standardize(x, "x"), standardize(y, "y"), standardize(sample_weight, "sample_weight")
            num_samples({"x": x, "y": y, "sample_weight": sample_weight})
            if self.class_weight is not None:
                sample_weight = apply_class_weight(y, sample_weight, self.class_weight)
        except (TypeError, ValueError) as e:
            raise (TypeError if isinstance(e, TypeError) else ValueError)(f"{where}: {e}") from e
        batch = (x, y, sample_weight)
        found = [signature(part) for part in batch]
        if self._expected is None:
            self._expected = found
        else:
            for role, expected, got in zip(("x", "y", "sample_weight"), self._expected, found):
                difference = signature_difference(expected, got, role)
                if difference:
                    raise ValueError(f"{where} does not match the first batch: {difference}. Every batch must have "
                                     f"the structure, dtypes and feature shapes of the first (only the batch size "
                                     f"may change)")
        return batch

    def close(self) -> None:
        self._iterator = None
        self._pending = None
