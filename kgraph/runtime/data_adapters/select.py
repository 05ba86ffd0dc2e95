"""Picks the data adapter for what the user passed to fit/evaluate/predict, with Keras' argument checks."""

from __future__ import annotations

import collections.abc
import warnings

import numpy as np

from kgraph import random as kg_random
from kgraph.runtime.data_adapter import ArrayDataAdapter
from kgraph.runtime.data_adapters.base import DataAdapter
from kgraph.runtime.data_adapters.generator_adapter import GeneratorDataAdapter
from kgraph.runtime.data_adapters.py_dataset_adapter import PyDatasetAdapter
from kgraph.runtime.data_adapters.tf_dataset_adapter import TFDatasetAdapter, is_tf_dataset
from kgraph.runtime.data_adapters.torch_adapter import TorchDataLoaderAdapter, is_torch_dataloader, is_torch_dataset
from kgraph import tree
from kgraph.runtime.data_adapters.py_dataset import PyDataset

SUPPORTED = ("NumPy arrays (or a list/tuple/dict of them), a `keras.utils.PyDataset`, a `tf.data.Dataset`, "
             "a `torch.utils.data.DataLoader`, or a Python generator/iterator")


class ArrayAdapter(ArrayDataAdapter, DataAdapter):
    """`ArrayDataAdapter` seen through the `DataAdapter` interface.

    The trainer's fast path stays `epoch()` and `calls()`: each compiled call gets a window of samples on
    the device and its steps slice their batches from it. `batches()` yields the same batches as host
    arrays, for code that wants one interface.
    """

    can_split = True
    _next_epoch = 0

    def _host_batch(self, index) -> tuple:
        return tuple(None if part is None else tree.map_structure(lambda a: None if a is None else a[index], part)
                     for part in self.host)

    def batches(self, epoch: int | None = None):
        epoch = self._next_epoch if epoch is None else epoch
        self._next_epoch = epoch + 1
        perm = self.epoch(1, epoch)[0]  # the device path's order, exactly
        order = np.arange(self.size) if perm is None else perm
        for step in range(self.num_batches):
            start = (step * self.batch_size) % self.size
            yield self._host_batch(order[start:start + self.batch_size])

    def peek(self) -> tuple:
        return self._host_batch(np.arange(self.batch_size))


def is_array_data(x) -> bool:
    """True for in-memory data: arrays (NumPy, JAX, anything with `__array__`), numbers, and lists/dicts of them."""
    if isinstance(x, dict):
        return all(is_array_data(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return all(is_array_data(v) for v in x)
    if x is None or isinstance(x, (np.ndarray, np.generic, int, float, bool)):
        return True
    return hasattr(x, "__array__") and hasattr(x, "shape")


def is_py_dataset(x) -> bool:
    return isinstance(x, PyDataset) or any(c.__name__ == "PyDataset" and c.__module__.startswith("keras")
                                           for c in type(x).__mro__)


def source_kind(x) -> str | None:
    """The name of the batch source `x` is ("PyDataset", "tf.data.Dataset", …), or None if it is none of them."""
    if is_py_dataset(x):
        return "PyDataset"
    if is_tf_dataset(x):
        return "tf.data.Dataset"
    if is_torch_dataloader(x):
        return "torch DataLoader"
    if isinstance(x, collections.abc.Iterator):
        return "generator"
    return None


def _type_name(x) -> str:
    cls = type(x)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def get_data_adapter(x, y=None, sample_weight=None, batch_size=None, steps_per_epoch=None, shuffle=False,
                     class_weight=None, seed: int | None = None):
    """The adapter that turns `x` (and for arrays `y`, `sample_weight`) into batches.

    Arrays go to `ArrayDataAdapter` (as `ArrayAdapter`); a PyDataset, tf.data.Dataset, torch DataLoader or
    generator to its streaming adapter, which carries its own targets and weights and does its own batching.
    As in Keras, `batch_size` is ignored for those and `shuffle` only reorders a PyDataset's batches.

    Args:
        x: the data.
        y, sample_weight: targets and weights, for arrays only.
        batch_size: samples per batch, for arrays only.
        steps_per_epoch: batches per epoch (None: one pass over the data).
        shuffle: reshuffle each epoch (arrays: samples; PyDataset: batch order).
        class_weight: `{class_index: weight}`, turned into sample weights.
        seed: seeds the shuffling (default: drawn from kgraph's global seed).

    Raises:
        ValueError: `y` or `sample_weight` given with a batch source.
        TypeError: `x` is none of the supported kinds.
    """
    if isinstance(x, DataAdapter):
        return x
    seed = kg_random.next_seed() if seed is None else seed
    if is_array_data(x):
        return ArrayAdapter(x, y, sample_weight, batch_size=batch_size, steps=steps_per_epoch, shuffle=shuffle,
                            class_weight=class_weight, seed=seed)
    kind = source_kind(x)
    if kind is None:
        hint = (" A torch Dataset must be wrapped in `torch.utils.data.DataLoader(dataset, batch_size=...)`."
                if is_torch_dataset(x) else "")
        raise TypeError(f"Unrecognized data type for `x`: {_type_name(x)}. Expected {SUPPORTED}.{hint}")
    for name, value, description in (("y", y, "the targets"), ("sample_weight", sample_weight, "the sample weights")):
        if value is not None:
            raise ValueError(f"When providing `x` as a {kind}, `{name}` should not be passed. "
                             f"Instead, {description} should be included as part of the {kind}.")
    if kind == "PyDataset":
        if shuffle and x.num_batches is None:
            warnings.warn("`shuffle=True` was passed, but will be ignored since the data `x` was provided as an "
                          "infinite PyDataset. The PyDataset is expected to already be shuffled.", stacklevel=2)
        return PyDatasetAdapter(x, steps_per_epoch, shuffle=shuffle, class_weight=class_weight, seed=seed)
    if shuffle:
        expectation = {"tf.data.Dataset": "The Dataset is expected to already be shuffled "
                                          "(via `.shuffle(buffer_size)`).",
                       "torch DataLoader": "The DataLoader is expected to already be shuffled.",
                       "generator": "The generator is expected to yield already-shuffled data."}[kind]
        warnings.warn(f"`shuffle=True` was passed, but will be ignored since the data `x` was provided as a {kind}. "
                      f"{expectation}", stacklevel=2)
    adapter_class = {"tf.data.Dataset": TFDatasetAdapter, "torch DataLoader": TorchDataLoaderAdapter,
                     "generator": GeneratorDataAdapter}[kind]
    return adapter_class(x, steps_per_epoch, class_weight=class_weight)
