"""The data adapters: batch normalization and checks, generators, torch DataLoader, tf.data, the dispatcher,
and the device prefetcher."""

import subprocess
import sys
import threading
import traceback
import warnings

import jax
import numpy as np
import pytest

from kgraph.runtime.data_adapter import ArrayDataAdapter
from kgraph.runtime.data_adapters import (ArrayAdapter, DevicePrefetcher, GeneratorDataAdapter, TFDatasetAdapter,
                                          TorchDataLoaderAdapter, get_data_adapter, unpack_x_y_sample_weight)
from kgraph.runtime.data_adapters.base import RAN_OUT_OF_DATA

X = np.arange(40, dtype=np.float64).reshape(10, 4)
Y = np.array([0, 1, 2, 1, 0, 2, 2, 1, 0, 1], dtype=np.int64)
SW = np.linspace(0.5, 1.4, 10)


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


def batched(*arrays, size=4):
    for start in range(0, len(arrays[0]), size):
        yield tuple(a[start:start + size] for a in arrays)


def assert_batches_equal(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert len(g) == 3
        for part, expected in zip(g, tuple(w) + (None,) * (3 - len(w))):
            if expected is None:
                assert part is None
            else:
                np.testing.assert_allclose(part, expected, rtol=1e-6)


def epochs(adapter, count):
    result = []
    for _ in range(count):
        result.append(list(adapter.batches()))
        adapter.on_epoch_end()
    return result


# --- one batch ------------------------------------------------------------------------------------------------------
def test_unpack_follows_keras():
    a, b, c = np.zeros(1), np.ones(1), np.full(1, 2.0)
    assert unpack_x_y_sample_weight((a,)) == (a, None, None)
    assert unpack_x_y_sample_weight((a, b)) == (a, b, None)
    assert unpack_x_y_sample_weight((a, b, c)) == (a, b, c)
    assert unpack_x_y_sample_weight([a, b]) == (a, b, None)  # a list is a tuple, as in Keras 3
    assert unpack_x_y_sample_weight(a) == (a, None, None)
    d = {"u": a}
    assert unpack_x_y_sample_weight(d) == (d, None, None)
    with pytest.raises(ValueError, match="found a tuple of 4 elements"):
        unpack_x_y_sample_weight((a, b, c, c))


def test_leaves_become_float32_and_int32_and_structures_are_kept():
    def source():
        yield {"a": X[:4], "b": Y[:4, None]}, (Y[:4], X[:4]), SW[:4]

    (x, y, sw), = list(get_data_adapter(source()).batches())
    assert sorted(x) == ["a", "b"] and x["a"].dtype == np.float32 and x["b"].dtype == np.int32
    assert isinstance(y, list) and [a.dtype for a in y] == [np.int32, np.float32]
    assert sw.dtype == np.float32
    np.testing.assert_array_equal(x["a"], X[:4])


# --- generators ---------------------------------------------------------------------------------------------------
def test_finite_generator_gives_one_epoch_then_warns_and_stops():
    adapter = get_data_adapter(batched(X, Y, SW))
    assert isinstance(adapter, GeneratorDataAdapter) and adapter.num_batches is None
    first = list(adapter.batches())
    assert_batches_equal(first, list(batched(X, Y, SW)))
    with pytest.warns(UserWarning, match="ran out of data"):
        assert list(adapter.batches()) == []


def test_infinite_generator_with_steps_continues_across_epochs():
    def forever():
        i = 0
        while True:
            yield np.full((2, 3), i, np.float64), np.full((2,), i)
            i += 1

    adapter = get_data_adapter(forever(), steps_per_epoch=3)
    assert adapter.num_batches == 3
    assert [[int(x[0, 0]) for x, _, _ in e] for e in epochs(adapter, 2)] == [[0, 1, 2], [3, 4, 5]]


def test_generator_shorter_than_steps_warns_like_keras():
    adapter = get_data_adapter(batched(X, Y), steps_per_epoch=2)  # 3 batches
    assert len(list(adapter.batches())) == 2
    with pytest.warns(UserWarning) as record:
        assert len(list(adapter.batches())) == 1
    assert str(record[0].message) == RAN_OUT_OF_DATA


def test_peek_does_not_use_up_a_generator_batch():
    adapter = get_data_adapter(batched(X, Y))
    x, _, _ = adapter.peek()
    np.testing.assert_array_equal(x, X[:4])
    assert_batches_equal(list(adapter.batches()), list(batched(X, Y)))


def test_feature_shape_change_midway_names_the_batch():
    def source():
        yield X[:4], Y[:4]
        yield X[4:8], Y[4:8]
        yield np.zeros((2, 5)), Y[8:]

    batches = get_data_adapter(source()).batches()
    next(batches), next(batches)
    with pytest.raises(ValueError, match=r"generator batch 2 does not match the first batch: x: expected a float32 "
                                         r"array of shape \(None, 4\), got a float32 array of shape \(None, 5\)"):
        next(batches)


@pytest.mark.parametrize("bad, message", [
    ((X[:4], Y[:4], SW[:4], SW[:4]), r"generator batch 1: Data is expected .* found a tuple of 4 elements"),
    ((X[:4],), r"generator batch 1 does not match the first batch: y: expected a int32 array of shape \(None,\), got None"),
    (({"a": X[:4]}, Y[:4]), r"x: expected a float32 array of shape \(None, 4\), got a dict with keys \['a'\]"),
    ((X[:4], Y[:3]), r"generator batch 1: Data cardinality is ambiguous"),
    ((X[:4].astype(str), Y[:4]), r"generator batch 1: `x` must hold numbers"),
])
def test_wrong_structure_midway_is_a_clear_error(bad, message):
    def source():
        yield X[:4], Y[:4]
        yield bad

    batches = get_data_adapter(source()).batches()
    next(batches)
    with pytest.raises((ValueError, TypeError), match=message):
        next(batches)


def test_dict_key_change_midway_is_named():
    def source():
        yield {"a": X[:2], "b": X[:2]}, Y[:2]
        yield {"a": X[:2], "c": X[:2]}, Y[:2]

    with pytest.raises(ValueError, match=r"batch 1 .* x: expected a dict with keys \['a', 'b'\], got a dict with keys \['a', 'c'\]"):
        list(get_data_adapter(source()).batches())


# --- class weights ------------------------------------------------------------------------------------------------
def test_class_weight_numbers_sparse_one_hot_and_multiplied():
    cw = {0: 1.0, 1: 2.0, 2: 0.5}
    expected = np.array([cw[c] for c in Y], np.float32)
    sparse = [b[2] for b in get_data_adapter(batched(X, Y), class_weight=cw).batches()]
    np.testing.assert_array_equal(np.concatenate(sparse), expected)
    one_hot = np.eye(3)[Y]
    dense = [b[2] for b in get_data_adapter(batched(X, one_hot), class_weight=cw).batches()]
    np.testing.assert_array_equal(np.concatenate(dense), expected)
    weighted = [b[2] for b in get_data_adapter(batched(X, Y, SW), class_weight=cw).batches()]
    np.testing.assert_allclose(np.concatenate(weighted), expected * SW, rtol=1e-6)
    with pytest.raises(ValueError, match="generator batch 0: `class_weight` needs each batch to have a single array"):
        list(get_data_adapter(batched(X), class_weight=cw).batches())
    with pytest.raises(TypeError, match="`class_weight` must be a dict"):
        get_data_adapter(batched(X, Y), class_weight=[1.0, 2.0])


# --- torch ---------------------------------------------------------------------------------------------------------------
def test_torch_dataloader_batches_match_the_loader():
    torch = pytest.importorskip("torch")
    dataset = torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(Y), torch.tensor(SW))
    loader = torch.utils.data.DataLoader(dataset, batch_size=4)
    adapter = get_data_adapter(loader)
    assert isinstance(adapter, TorchDataLoaderAdapter) and adapter.num_batches == len(loader) == 3
    for batches in epochs(adapter, 2):  # a fresh pass each epoch
        assert_batches_equal(batches, list(batched(X, Y, SW)))
        assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int32


def test_torch_tensors_that_require_grad_and_dict_samples():
    torch = pytest.importorskip("torch")

    class Samples(torch.utils.data.Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return {"a": torch.tensor(X[i], requires_grad=True)}, torch.tensor(Y[i])

    batches = list(get_data_adapter(torch.utils.data.DataLoader(Samples(), batch_size=5)).batches())
    assert len(batches) == 2
    np.testing.assert_array_equal(batches[1][0]["a"], X[5:])
    np.testing.assert_array_equal(batches[1][1], Y[5:])
    with pytest.raises(TypeError, match=r"torch.*Samples.*wrapped in `torch.utils.data.DataLoader"):
        get_data_adapter(Samples())


# --- tf.data -------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow")


def test_tf_dataset_with_and_without_sample_weight(tf):
    for arrays in [(X, Y), (X, Y, SW)]:
        dataset = tf.data.Dataset.from_tensor_slices(arrays).batch(4)
        adapter = get_data_adapter(dataset)
        assert isinstance(adapter, TFDatasetAdapter) and adapter.num_batches == 3
        for batches in epochs(adapter, 2):
            assert_batches_equal(batches, list(batched(*arrays)))


def test_tf_dataset_infinite_and_unknown_cardinality(tf):
    forever = tf.data.Dataset.from_tensor_slices((X, Y)).batch(4).repeat()
    assert get_data_adapter(forever).num_batches is None
    adapter = get_data_adapter(forever, steps_per_epoch=4)
    first, second = epochs(adapter, 2)
    assert_batches_equal(first + second, (list(batched(X, Y)) * 3)[:8])  # the epochs continue through the repeats
    filtered = tf.data.Dataset.from_tensor_slices((X, Y)).filter(lambda x, y: y >= 0).batch(4)
    adapter = get_data_adapter(filtered)
    assert adapter.num_batches is None
    assert len(list(adapter.batches())) == 3
    assert adapter.num_batches == 3  # learned from the first pass


def test_tf_dataset_rejects_y_and_warns_about_shuffle(tf):
    dataset = tf.data.Dataset.from_tensor_slices((X, Y)).batch(4)
    with pytest.raises(ValueError, match="When providing `x` as a tf.data.Dataset, `y` should not be passed"):
        get_data_adapter(dataset, y=Y)
    with pytest.warns(UserWarning, match="expected to already be shuffled"):
        get_data_adapter(dataset, shuffle=True)


# --- the dispatcher --------------------------------------------------------------------------------------------------
def test_arrays_go_to_the_device_resident_array_adapter():
    adapter = get_data_adapter(X, Y, batch_size=4, seed=1)
    assert isinstance(adapter, ArrayDataAdapter) and isinstance(adapter, ArrayAdapter)
    assert adapter.can_split and adapter.num_batches == 3
    assert_batches_equal(list(adapter.batches()), list(batched(X, Y)))
    assert isinstance(get_data_adapter({"a": X, "b": X}, [Y]), ArrayAdapter)
    shuffled = get_data_adapter(X, Y, batch_size=4, shuffle=True, seed=1)
    rows = np.concatenate([x for x, _, _ in shuffled.batches(1)])
    assert not np.array_equal(rows, X) and np.array_equal(np.sort(rows, axis=0), X)
    perm, plan = shuffled.epoch(1, 1)  # the device path's order for epoch 1
    for (x, _, _), (_, start, size, _) in zip(shuffled.batches(1), plan):
        np.testing.assert_array_equal(x, X[np.asarray(perm)[start:start + size]])


@pytest.mark.parametrize("shuffle", [True, False])
def test_each_call_window_holds_its_batches_in_the_epochs_order(shuffle):
    """10 rows, batches of 3, 2 per call: calls of 2 and 1 full batches and a tail of 1 row. The full calls'
    windows hold 6 rows (the second ends at the data's end, so its batch starts at row 2 of it)."""
    x = np.arange(20, dtype="float32").reshape(10, 2)
    adapter = ArrayDataAdapter(x, np.arange(10), batch_size=3, shuffle=shuffle, seed=4)
    perm, plan = adapter.epoch(2, 3)
    order = np.arange(10) if perm is None else perm
    calls = list(adapter.calls(plan, perm))
    assert [(step, size, fused, offset) for step, size, fused, offset, _ in calls] == [(0, 3, 2, 0), (2, 3, 1, 2),
                                                                                      (3, 1, 1, 0)]
    assert [len(data[0]) for *_, data in calls] == [6, 6, 1]
    for (step, start, size, fused), (_, _, _, offset, data) in zip(plan, calls):
        rows = slice(offset, offset + size * fused)
        np.testing.assert_array_equal(np.asarray(data[0])[rows], x[order[start:start + size * fused]])
        np.testing.assert_array_equal(np.asarray(data[1])[rows], order[start:start + size * fused])


def test_unknown_input_type_names_the_type_and_the_supported_ones():
    with pytest.raises(TypeError, match=r"Unrecognized data type for `x`: set\. Expected NumPy arrays .*PyDataset.*"
                                        r"tf\.data\.Dataset.*DataLoader.*generator"):
        get_data_adapter({1, 2})


def test_generator_rejects_sample_weight_and_warns_about_shuffle():
    with pytest.raises(ValueError, match="When providing `x` as a generator, `sample_weight` should not be passed"):
        get_data_adapter(batched(X), sample_weight=SW)
    with pytest.warns(UserWarning, match="generator is expected to yield already-shuffled data"):
        get_data_adapter(batched(X), shuffle=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_data_adapter(batched(X), batch_size=32)  # ignored, as in Keras


def test_import_kgraph_imports_neither_tensorflow_nor_torch():
    code = ("import sys, kgraph, kgraph.runtime.data_adapters, kgraph.runtime.data_adapters.py_dataset\n"
            "print(sorted(m for m in ('tensorflow', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


# --- the prefetcher ------------------------------------------------------------------------------------------------------
def failing_source(log):
    try:
        for i in range(10):
            if i == 3:
                raise KeyError(f"batch {i} is missing")
            yield (np.full((2, 2), i, np.float32), None, None)
    finally:
        log.append("closed")


def test_prefetcher_puts_batches_on_the_device_in_order():
    adapter = get_data_adapter(batched(X, Y))
    with DevicePrefetcher(adapter.batches(), size=2) as batches:
        got = within(20, lambda: list(batches))
    assert len(got) == 3
    x, y, sw = got[2]
    assert isinstance(x, jax.Array) and isinstance(y, jax.Array) and sw is None
    np.testing.assert_array_equal(np.asarray(x), X[8:])


def test_prefetcher_reraises_a_source_exception_with_its_traceback():
    log = []
    got = []

    def consume():
        for batch in DevicePrefetcher(failing_source(log)):
            got.append(int(batch[0][0, 0]))

    with pytest.raises(KeyError, match="batch 3 is missing") as info:
        within(20, consume)
    assert got == [0, 1, 2] and log == ["closed"]
    assert "in failing_source" in "".join(traceback.format_exception(info.value))


def endless_source(log):
    try:
        while True:
            yield (np.zeros((2, 2), np.float32), None, None)
    finally:
        log.append("closed")


def test_prefetcher_stops_its_thread_when_the_consumer_stops_early():
    log = []
    prefetcher = DevicePrefetcher(endless_source(log), size=1)
    with prefetcher:
        for batch in prefetcher:
            break
    assert not prefetcher._thread.is_alive() and log == ["closed"]
    with pytest.raises(StopIteration):
        next(prefetcher)
