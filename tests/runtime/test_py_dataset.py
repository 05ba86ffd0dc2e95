"""PyDataset and its adapter: the class users subclass, read serially, on threads and in worker processes."""

import math
import os
import threading
import traceback

import numpy as np
import pytest

from kgraph.runtime.data_adapters import PyDatasetAdapter, get_data_adapter
from kgraph.runtime.data_adapters.py_dataset import PyDataset

N, BATCH = 10, 4  # 3 batches: 4, 4, 2 rows


class BatchError(Exception):
    """Raised by a dataset on purpose; module level so it survives the trip back from a worker process."""


class RowBatches(PyDataset):
    """Batch i: rows [4i, 4i+4) of a float64 (10, 3) array and their int64 labels; raises at `fail_at`."""

    def __init__(self, fail_at=None, **kwargs):
        super().__init__(**kwargs)
        self.x = np.arange(N * 3, dtype=np.float64).reshape(N, 3)
        self.y = np.arange(N, dtype=np.int64) % 3
        self.fail_at = fail_at
        self.epochs_ended = 0
        self.threads = set()

    def __len__(self):
        return math.ceil(N / BATCH)

    def __getitem__(self, index):
        self.threads.add(threading.current_thread().name)
        if index == self.fail_at:
            raise BatchError(f"cannot read batch {index}")
        rows = slice(index * BATCH, (index + 1) * BATCH)
        return self.x[rows], self.y[rows]

    def on_epoch_end(self):
        self.epochs_ended += 1


class WorkerReport(PyDataset):
    """Each batch says which process made it and which epoch that process thinks it is; batch 2 of epoch 1 fails."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.epoch = 0

    def __len__(self):
        return 4

    def __getitem__(self, index):
        if (self.epoch, index) == (1, 2):
            raise BatchError(f"cannot read batch {index} in epoch {self.epoch}")
        return np.full((2, 1), index, np.float32), np.array([[os.getpid(), self.epoch]] * 2)

    def on_epoch_end(self):
        self.epoch += 1


class Endless(PyDataset):
    @property
    def num_batches(self):
        return None

    def __getitem__(self, index):
        return np.full((2, 1), index, np.float32)


def within(seconds, fn):
    """Runs `fn` on a thread; fails the test if it has not returned (or raised) after `seconds`."""
    outcome = {}

    def target():
        try:
            outcome["value"] = fn()
        except BaseException as e:
            outcome["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"hung for more than {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def epoch(adapter):
    batches = list(adapter.batches())
    adapter.on_epoch_end()
    return batches


def first_rows(batches):
    return [int(x[0, 0]) // (3 * BATCH) for x, _, _ in batches]


# --- the class ------------------------------------------------------------------------------------------------------
def test_options_are_stored_and_unknown_ones_rejected():
    ds = RowBatches(workers=3, use_multiprocessing=True, max_queue_size=5)
    assert (ds.workers, ds.use_multiprocessing, ds.max_queue_size) == (3, True, 5)
    assert (RowBatches().workers, RowBatches().use_multiprocessing, RowBatches().max_queue_size) == (1, False, 10)
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['batch_sise'\]"):
        RowBatches(batch_sise=3)
    with pytest.raises(ValueError, match="`workers` must be a non-negative integer, got -1"):
        RowBatches(workers=-1)
    with pytest.raises(ValueError, match="`max_queue_size`"):
        RowBatches(max_queue_size=0)


def test_subclass_that_skips_super_init_gets_defaults_and_a_warning():
    class NoSuper(PyDataset):
        def __init__(self):
            pass

        def __len__(self):
            return 1

        def __getitem__(self, index):
            return np.zeros((1, 1))

    with pytest.warns(UserWarning, match=r"super\(\).__init__\(\*\*kwargs\)"):
        assert NoSuper().workers == 1


def test_iterating_by_hand_gives_every_batch_in_order():
    ds = RowBatches()
    assert ds.num_batches == 3
    assert [len(x) for x, _ in ds] == [4, 4, 2]
    with pytest.raises(NotImplementedError, match="__getitem__"):
        PyDataset()[0]


# --- the adapter ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 2])
def test_batches_equal_the_datasets_own(workers):
    ds = RowBatches(workers=workers)
    adapter = get_data_adapter(ds)
    assert isinstance(adapter, PyDatasetAdapter) and adapter.num_batches == 3
    for _ in range(2):
        batches = epoch(adapter)
        assert len(batches) == 3
        for i, (x, y, sw) in enumerate(batches):
            want_x, want_y = ds[i]
            np.testing.assert_array_equal(x, want_x)
            np.testing.assert_array_equal(y, want_y)
            assert x.dtype == np.float32 and y.dtype == np.int32 and sw is None
    assert ds.epochs_ended == 2
    adapter.close()
    threads = ds.threads - {"MainThread"}
    if workers == 1:
        assert not threads
    else:
        assert threads and all(name.startswith("kgraph-pydataset") for name in threads)


class Many(RowBatches):
    def __len__(self):
        return 12

    def __getitem__(self, index):
        return np.full((2, 1), index, np.float64)


def order(adapter, index=None):
    result = [int(x[0, 0]) for x, _, _ in adapter.batches(index)]
    adapter.on_epoch_end()
    return result


def test_shuffle_changes_the_batch_order_but_covers_every_batch():
    adapter = get_data_adapter(Many(), shuffle=True, seed=3)
    orders = [order(adapter) for _ in range(3)]
    for o in orders:
        assert sorted(o) == list(range(12))
    assert any(o != list(range(12)) for o in orders)
    assert len({tuple(o) for o in orders}) > 1  # a new order each epoch
    assert order(get_data_adapter(Many(), shuffle=False)) == list(range(12))


def test_shuffle_order_is_a_function_of_seed_and_epoch_index():
    orders = [order(get_data_adapter(Many(), shuffle=True, seed=3)) for _ in range(2)]
    assert orders[0] == orders[1]
    adapter = get_data_adapter(Many(), shuffle=True, seed=3)
    third = [order(adapter) for _ in range(3)][2]
    resumed = get_data_adapter(Many(), shuffle=True, seed=3)
    resumed.peek()  # traced from epoch 0's first batch, then resumed at epoch 2
    assert order(resumed, 2) == third
    assert order(get_data_adapter(Many(), shuffle=True, seed=4)) != orders[0]


def test_steps_cut_epochs_and_continue_where_the_last_one_stopped():
    adapter = get_data_adapter(Endless(), steps_per_epoch=3)
    assert adapter.num_batches == 3
    assert [[int(x[0, 0]) for x, _, _ in epoch(adapter)] for _ in range(2)] == [[0, 1, 2], [3, 4, 5]]


def test_y_and_sample_weight_are_rejected_but_batch_size_is_ignored_as_in_keras():
    with pytest.raises(ValueError, match="When providing `x` as a PyDataset, `y` should not be passed"):
        get_data_adapter(RowBatches(), y=np.zeros(10))
    with pytest.raises(ValueError, match="`sample_weight` should not be passed"):
        get_data_adapter(RowBatches(), sample_weight=np.zeros(10))
    assert get_data_adapter(RowBatches(), batch_size=64).num_batches == 3


def test_class_weight_becomes_sample_weight():
    batches = epoch(get_data_adapter(RowBatches(), class_weight={0: 1.0, 1: 2.0, 2: 0.5}))
    np.testing.assert_array_equal(batches[0][2], [1.0, 2.0, 0.5, 1.0])  # labels 0 1 2 0


@pytest.mark.parametrize("workers", [1, 3])
def test_an_exception_in_getitem_surfaces_with_its_type_message_and_traceback(workers):
    ds = RowBatches(fail_at=1, workers=workers, max_queue_size=2)
    adapter = get_data_adapter(ds)
    seen = []

    def consume():
        for batch in adapter.batches():
            seen.append(batch)

    with pytest.raises(BatchError, match="cannot read batch 1") as info:
        within(20, consume)
    assert len(seen) == 1
    assert "in __getitem__" in "".join(traceback.format_exception(info.value))
    adapter.close()


def test_worker_processes_make_the_batches_see_epoch_changes_and_report_errors():
    adapter = get_data_adapter(WorkerReport(workers=2, use_multiprocessing=True))
    second = []

    def second_epoch():
        for batch in adapter.batches():
            second.append(batch)

    try:
        first = within(45, lambda: epoch(adapter))
        with pytest.raises(BatchError, match="cannot read batch 2 in epoch 1") as info:
            within(45, second_epoch)
    finally:
        adapter.close()
    assert [int(x[0, 0]) for x, _, _ in first] == [0, 1, 2, 3]
    assert os.getpid() not in {int(y[0, 0]) for _, y, _ in first + second}
    # on_epoch_end ran in this process; the workers were restarted with the updated dataset
    assert {int(y[0, 1]) for _, y, _ in first} == {0}
    assert [int(x[0, 0]) for x, _, _ in second] == [0, 1] and {int(y[0, 1]) for _, y, _ in second} == {1}
    # the worker's traceback comes back as the exception's cause
    text = "".join(traceback.format_exception(info.value))
    assert 'raise BatchError(f"cannot read batch {index} in epoch {self.epoch}")' in text


def test_an_unpicklable_dataset_with_processes_is_a_clear_type_error():
    ds = RowBatches(workers=2, use_multiprocessing=True)
    ds.transform = lambda a: a
    with pytest.raises(TypeError, match="must be picklable"):
        next(get_data_adapter(ds).batches())
