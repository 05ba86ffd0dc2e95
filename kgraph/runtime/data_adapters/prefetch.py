"""Moves host batches to the device on a background thread, a few batches ahead of the compiled step."""

from __future__ import annotations

import queue
import threading

import jax

_BATCH, _END, _ERROR = "batch", "end", "error"
_POLL_S = 0.05


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    """Puts `item` unless the consumer has stopped; never blocks for good on a full queue."""
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def _produce(iterator, q: queue.Queue, stop: threading.Event, device) -> None:
    """The thread's body (holds no reference to the prefetcher, so dropping it lets it be collected)."""
    try:
        for batch in iterator:
            if stop.is_set() or not _put(q, (_BATCH, jax.device_put(batch, device)), stop):
                return
        _put(q, (_END, None), stop)
    except BaseException as e:  # handed to the consumer, traceback and all
        _put(q, (_ERROR, e), stop)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                pass


class DevicePrefetcher:
    """Iterates over `iterator`'s batches already on the device, reading up to `size` batches ahead.

    A background thread pulls each host batch (a pytree of NumPy arrays) and `jax.device_put`s it, so
    while the compiled step runs, the next batches are being read and copied. An exception raised by the
    source re-raises from `next()` with its original traceback. Stop early with `close()` (or a `with`
    block): the thread then stops and closes the source iterator.

    Args:
        iterator: an iterable of host batches, e.g. `adapter.batches()`.
        size: how many device batches may wait in the queue.
        device: a `jax.Device` or sharding for `jax.device_put` (None: the default device).

    Example:

    ```python
    with DevicePrefetcher(adapter.batches()) as batches:
        for batch in batches:
            state, logs = step(state, batch)
    adapter.on_epoch_end()
    ```
    """

    def __init__(self, iterator, size: int = 2, device=None):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"`size` must be a positive integer, got {size!r}")
        self._queue: queue.Queue = queue.Queue(maxsize=size)
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=_produce, args=(iter(iterator), self._queue, self._stop, device),
                                        name="kgraph-prefetch", daemon=True)
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        while True:
            try:
                kind, value = self._queue.get(timeout=_POLL_S)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self._finished = True
                    raise RuntimeError("The prefetch thread stopped without delivering its batches") from None
        if kind == _BATCH:
            return value
        self._finished = True
        self._thread.join()
        if kind == _ERROR:
            raise value
        raise StopIteration

    def close(self, timeout: float | None = 5.0) -> None:
        """Stops the thread (waiting up to `timeout` s for a batch it is still reading) and drops queued batches."""
        self._finished = True
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self):
        if not getattr(self, "_finished", True):
            self._stop.set()
