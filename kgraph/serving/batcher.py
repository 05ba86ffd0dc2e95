"""Dynamic batching: requests to one model wait in a queue and run together as one ONNX Runtime call of up to
`max_batch_size` rows, in a thread pool off the event loop; each request gets its own rows of the outputs back."""

from __future__ import annotations

import asyncio
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from kgraph.serving.errors import DeadlineExceeded, InferenceFailed, InvalidRequest, Overloaded, ServingError
from kgraph.serving.metrics import Metrics
from kgraph.serving.model import ServedModel


@dataclass(eq=False)
class _Pending:
    arrays: list[np.ndarray]
    rows: int
    key: tuple
    deadline: float | None
    future: asyncio.Future = field(repr=False)


def _batch_key(model: ServedModel, arrays: list[np.ndarray]) -> tuple:
    if model.max_batch_size == 0:
        return (object(),)
    return tuple(a.shape[1:] for a in arrays)


class Batcher:
    """Queues requests to `model` and runs them in batches, one batch at a time on each of its sessions.

    Args:
        model: the model.
        metrics: where batch sizes, queue depth and inference times are recorded (None: nowhere).

    Requests whose dims past the first differ are batched apart; one larger than the model's max batch size is
    split into several. The batcher starts on first use in the running event loop.
    """

    def __init__(self, model: ServedModel, metrics: Metrics | None = None):
        self.model = model
        options = model.options
        self._max_rows = max(model.max_batch_size, 1)
        self._delay = options.max_queue_delay_ms / 1000
        self._max_queue = options.max_queue
        self._timeout = options.request_timeout_ms / 1000 if options.request_timeout_ms else None
        self._metrics = metrics
        self._queue: deque[_Pending] = deque()
        self._rows: dict[tuple, int] = {}
        self._arrived: asyncio.Event | None = None
        self._workers: list[asyncio.Task] = []
        self._executor: ThreadPoolExecutor | None = None

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    def _start(self) -> None:
        self._arrived = asyncio.Event()
        self._executor = ThreadPoolExecutor(len(self.model.sessions), thread_name_prefix=f"ort-{self.model.name}")
        self._workers = [asyncio.get_running_loop().create_task(self._work(i))
                         for i in range(len(self.model.sessions))]

    async def close(self) -> None:
        """Stops the workers once no request waits; requests still queued are answered first."""
        while self._queue:
            await asyncio.sleep(self._delay or 0.001)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._workers = []

    async def infer(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """The model's outputs for `arrays` (one per input, in input order, already checked against the model).

        Raises:
            Overloaded: the queue holds `max_queue` requests.
            DeadlineExceeded: the request waited past `request_timeout_ms` and was dropped before it ran.
            InferenceFailed: ONNX Runtime failed on the batch.
        """
        if not self._workers:
            self._start()
        rows = arrays[0].shape[0] if self.model.max_batch_size > 0 else 1
        if rows <= self._max_rows:
            return await self._enqueue(arrays, rows)
        starts = range(0, rows, self._max_rows)
        if len(self._queue) + len(starts) > self._max_queue:
            raise Overloaded(f"model {self.model.name!r}: the queue is full ({self._max_queue} requests)")
        parts = await asyncio.gather(*[self._enqueue([a[s:s + self._max_rows] for a in arrays],
                                                     min(self._max_rows, rows - s)) for s in starts])
        return [np.concatenate([p[i] for p in parts]) for i in range(len(self.model.outputs))]

    def _enqueue(self, arrays: list[np.ndarray], rows: int) -> asyncio.Future:
        if len(self._queue) >= self._max_queue:
            raise Overloaded(f"model {self.model.name!r}: the queue is full ({self._max_queue} requests)")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout if self._timeout else None
        pending = _Pending(arrays, rows, _batch_key(self.model, arrays), deadline, loop.create_future())
        self._queue.append(pending)
        self._rows[pending.key] = self._rows.get(pending.key, 0) + rows
        self._arrived.set()
        self._record_depth()
        return pending.future

    def _record_depth(self) -> None:
        if self._metrics is not None:
            self._metrics.queue_depth.labels(self.model.name).set(len(self._queue))

    async def _work(self, session: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
            key = self._queue[0].key
            wait_until = loop.time() + self._delay
            while self._rows.get(key, 0) < self._max_rows and self._delay > 0:
                remaining = wait_until - loop.time()
                if remaining <= 0:
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except asyncio.TimeoutError:
                    break
            batch = self._take(key, loop.time())
            if batch:
                await self._run(session, batch)

    def _take(self, key: tuple, now: float) -> list[_Pending]:
        """Removes from the queue, in order, the requests of `key` that fit in one batch; drops expired ones."""
        batch: list[_Pending] = []
        kept: deque[_Pending] = deque()
        rows = 0
        for pending in self._queue:
            if pending.key != key or rows + pending.rows > self._max_rows:
                kept.append(pending)
                continue
            self._rows[key] -= pending.rows
            if pending.future.done():
                continue
            if pending.deadline is not None and now > pending.deadline:
                pending.future.set_exception(DeadlineExceeded(
                    f"model {self.model.name!r}: the request waited past its deadline "
                    f"({self._timeout * 1000:g} ms) and was dropped before it ran"))
                continue
            batch.append(pending)
            rows += pending.rows
        if not self._rows.get(key):
            self._rows.pop(key, None)
        self._queue = kept
        self._record_depth()
        return batch

    def _failure(self, error: Exception) -> ServingError:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        if type(error).__name__ == "InvalidArgument":
            return InvalidRequest(f"model {self.model.name!r}: ONNX Runtime refused the input: {message}")
        return InferenceFailed(f"model {self.model.name!r}: ONNX Runtime failed: {type(error).__name__}: {message}")

    async def _run(self, session: int, batch: list[_Pending]) -> None:
        """Runs one batch and answers its requests; when it fails, runs each request alone so that one request's
        bad values (an index out of range, say) fail only that request."""
        loop = asyncio.get_running_loop()
        arrays = batch[0].arrays if len(batch) == 1 else [
            np.concatenate([p.arrays[i] for p in batch]) for i in range(len(batch[0].arrays))]
        start = loop.time()
        try:
            outputs = await loop.run_in_executor(self._executor, self.model.run, session, arrays)
        except Exception as e:
            if len(batch) > 1:
                for pending in batch:
                    await self._run(session, [pending])
                return
            if not batch[0].future.done():
                batch[0].future.set_exception(self._failure(e))
            return
        finally:
            if self._metrics is not None:
                self._metrics.inference.labels(self.model.name).observe(loop.time() - start)
                self._metrics.batch_size.labels(self.model.name).observe(sum(p.rows for p in batch))
        offset = 0
        for pending in batch:
            if not pending.future.done():
                pending.future.set_result(outputs if len(batch) == 1 else
                                          [o[offset:offset + pending.rows] for o in outputs])
            offset += pending.rows
