"""`PyDataset`: the base class users subclass to feed `fit`/`evaluate`/`predict` batch by batch from Python."""

from __future__ import annotations

import itertools
import warnings

_OPTIONS = {"workers": 1, "use_multiprocessing": False, "max_queue_size": 10}


class PyDataset:
    """A dataset of whole batches, indexed from 0, that `fit()` can read in parallel and shuffle.

    Subclasses implement `__len__` (the number of batches) and `__getitem__(index)` (one batch: `x`,
    `(x,)`, `(x, y)` or `(x, y, sample_weight)`), and may implement `on_epoch_begin`/`on_epoch_end`.
    A dataset with no end defines `num_batches` returning None instead of `__len__`.

    Args:
        workers: how many batches are produced at once: threads, or processes with `use_multiprocessing`.
            1 (the default) reads batches one after another on the loading thread.
        use_multiprocessing: produce batches in `workers` separate processes. The dataset is pickled
            into each of them, so its class must be defined at module level; processes are started
            with "spawn", so a script that uses them needs an `if __name__ == "__main__":` guard.
        max_queue_size: how many batches may be requested ahead of the one being trained on.

    These options only say how `fit()` reads the dataset; iterating over it by hand is sequential.

    Example:

    ```python
    class Batches(keras.utils.PyDataset):
        def __init__(self, x, y, batch_size, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y, self.batch_size = x, y, batch_size

        def __len__(self):
            return math.ceil(len(self.x) / self.batch_size)

        def __getitem__(self, index):
            part = slice(index * self.batch_size, (index + 1) * self.batch_size)
            return self.x[part], self.y[part]

    model.fit(Batches(x, y, 32, workers=4), epochs=3)
    ```
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s) {sorted(kwargs)}; "
                            f"PyDataset accepts {sorted(_OPTIONS)}")
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
            raise ValueError(f"`workers` must be a non-negative integer, got {workers!r}")
        if not isinstance(max_queue_size, int) or isinstance(max_queue_size, bool) or max_queue_size < 1:
            raise ValueError(f"`max_queue_size` must be a positive integer, got {max_queue_size!r}")
        self._workers = workers
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = max_queue_size

    def _option(self, name: str):
        """The option's value; the default, with a warning, when a subclass skipped `super().__init__`."""
        attribute = "_" + name
        if not hasattr(self, attribute):
            warnings.warn(f"{type(self).__name__} should call `super().__init__(**kwargs)` in its constructor; "
                          f"using the default {name}={_OPTIONS[name]!r}. Pass `workers`, `use_multiprocessing` "
                          f"and `max_queue_size` to the dataset, not to `fit()`.", stacklevel=3)
            setattr(self, attribute, _OPTIONS[name])
        return getattr(self, attribute)

    @property
    def workers(self) -> int:
        return self._option("workers")

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        return self._option("use_multiprocessing")

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        return self._option("max_queue_size")

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = value

    @property
    def num_batches(self) -> int | None:
        """Batches per epoch: `len(self)`, or None for a dataset that never ends (override for that)."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must define `__len__` (the number of batches), "
                                  f"or a `num_batches` property returning None for an endless dataset")

    def __getitem__(self, index: int):
        """The batch at `index`: `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`."""
        raise NotImplementedError(f"{type(self).__name__} must define `__getitem__(index)` returning one batch")

    def __iter__(self):
        count = self.num_batches
        for index in itertools.count() if count is None else range(count):
            yield self[index]

    def on_epoch_begin(self) -> None:
        """Called before each epoch's first batch is requested."""

    def on_epoch_end(self) -> None:
        """Called after each epoch, e.g. to reshuffle or resample the data."""


Sequence = PyDataset
