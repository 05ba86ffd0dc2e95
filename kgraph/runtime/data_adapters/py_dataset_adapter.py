"""Reads a `PyDataset` batch by batch: in order or shuffled, on the loading thread, on threads or in processes."""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import multiprocessing
import pickle

import numpy as np

from kgraph.runtime.data_adapters.base import StreamAdapter
from kgraph.runtime.data_adapters.py_dataset import PyDataset

_worker_dataset = None  # in a worker process: the dataset unpickled by `_init_worker`


def _init_worker(payload: bytes) -> None:
    global _worker_dataset
    _worker_dataset = pickle.loads(payload)


def _worker_getitem(index: int):
    return _worker_dataset[index]


def _overrides(dataset, method: str) -> bool:
    return getattr(type(dataset), method, None) is not getattr(PyDataset, method)


class PyDatasetAdapter(StreamAdapter):
    """Batches `dataset[i]`, for i in order (or a new random order each epoch with `shuffle`).

    With `dataset.workers > 1` (threads), or `use_multiprocessing` (processes started with "spawn"), up to
    `max_queue_size` batches are requested ahead and delivered in order. An exception in a worker re-raises
    where the batch is consumed, as the same type: from a thread with its own traceback, from a process
    with the worker's traceback text as its `__cause__`.

    Args:
        dataset: a `kgraph.utils.PyDataset` (or `keras.utils.PyDataset`) instance.
        steps: batches per epoch, or None for `dataset.num_batches`.
        shuffle: visit the batches in a random order, a function of (seed, epoch index), each epoch
            (ignored for an endless dataset).
        class_weight: `{class_index: weight}` applied to each batch.
        seed: seeds the shuffling.
    """

    source_name = "PyDataset"

    def __init__(self, dataset, steps=None, shuffle=False, class_weight=None, seed: int = 0):
        self.dataset = dataset
        super().__init__(dataset.num_batches, steps, class_weight)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.workers = int(dataset.workers)
        self.use_multiprocessing = bool(dataset.use_multiprocessing)
        self.max_queue_size = max(int(dataset.max_queue_size), 1)
        self._executor = None
        self._stale = False  # the dataset changed (epoch hooks) since the worker processes copied it

    def _epoch_begin(self) -> None:
        self.dataset.on_epoch_begin()
        self._stale = self._stale or _overrides(self.dataset, "on_epoch_begin")

    def on_epoch_end(self) -> None:
        self.dataset.on_epoch_end()
        self._stale = self._stale or _overrides(self.dataset, "on_epoch_end")

    def _indices(self):
        if self.pass_length is None:
            return itertools.count()
        if self.shuffle:
            return np.random.default_rng([self.seed, self._pass_epoch]).permutation(self.pass_length).tolist()
        return range(self.pass_length)

    def _open(self):
        indices = self._indices()
        if self.use_multiprocessing and self.workers > 0:
            return self._ordered(self._process_pool(), _worker_getitem, indices)
        if self.workers > 1:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(self.workers,
                                                                       thread_name_prefix="kgraph-pydataset")
            return self._ordered(self._executor, self.dataset.__getitem__, indices)
        return (self.dataset[i] for i in indices)

    def _process_pool(self):
        """The worker processes, restarted when the dataset may have changed since they copied it."""
        if self._executor is not None and not self._stale:
            return self._executor
        self._shutdown()
        try:
            payload = pickle.dumps(self.dataset)
        except Exception as e:
            raise TypeError(f"A PyDataset with use_multiprocessing=True is copied into its worker processes, so it "
                            f"must be picklable (a class defined at module level, no lambdas or open handles); "
                            f"pickling {type(self.dataset).__name__} failed: {e}") from e
        self._executor = concurrent.futures.ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker, initargs=(payload,))
        self._stale = False
        return self._executor

    def _ordered(self, executor, getitem, indices):
        """Batches in index order, up to `max_queue_size` of them produced ahead; pending work is cancelled on exit."""
        indices = iter(indices)
        pending = collections.deque(executor.submit(getitem, i) for i in itertools.islice(indices, self.max_queue_size))
        try:
            while pending:
                batch = pending.popleft().result()
                pending.extend(executor.submit(getitem, i) for i in itertools.islice(indices, 1))
                yield batch
        finally:
            for future in pending:
                future.cancel()

    def _shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def close(self) -> None:
        """Cancels batches requested ahead and stops the workers (after any prefetcher reading it has stopped)."""
        if self._iterator is not None and hasattr(self._iterator, "close"):
            try:
                self._iterator.close()
            except ValueError:  # still running on another thread; dropping it cancels its work when collected
                pass
        super().close()
        self._shutdown()

    def __del__(self):
        try:
            self._shutdown()
        except Exception:
            pass
