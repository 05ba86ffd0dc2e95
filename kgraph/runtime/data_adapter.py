"""Data adapters: turn what the user passes to fit/evaluate/predict into batches for the compiled step.

NumPy inputs are validated once, moved to the device once, and batched on the device by index, so a
step never waits on a host copy. (The training-API issue adds generators, PyDataset, torch and tf.data.)
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from kgraph import tree


def _as_array(x, role: str) -> np.ndarray:
    try:
        array = np.asarray(x)
    except Exception as e:
        raise TypeError(f"`{role}` must be a NumPy array (or a list/dict of them); could not convert {type(x).__name__}: {e}") from None
    if array.dtype == object or array.dtype.kind in "USV":
        raise TypeError(f"`{role}` must hold numbers, got an array of dtype {array.dtype} (shape {array.shape})")
    if array.ndim == 0:
        raise ValueError(f"`{role}` must have a batch dimension, got a scalar")
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype in (np.int64, np.uint64, np.uint32):
        return _narrowed_to_int32(array, role)
    return array


INT32_RANGE = (-(2**31), 2**31 - 1)


def _narrowed_to_int32(array: np.ndarray, role: str) -> np.ndarray:
    """int32, as JAX computes by default; values that would wrap are an error, never silently changed."""
    if array.size:
        low, high = array.min(), array.max()
        if low < INT32_RANGE[0] or high > INT32_RANGE[1]:
            raise ValueError(f"`{role}` holds {array.dtype} values from {low} to {high}, outside the int32 range "
                             f"[{INT32_RANGE[0]}, {INT32_RANGE[1]}] that kgraph computes integers in; they would wrap. "
                             "Pass them as floats, or rescale or re-index them first.")
    return array.astype(np.int32)


def standardize(data, role: str):
    """Validates a nested structure of arrays and converts each leaf to a device-friendly NumPy array."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: _as_array(v, f"{role}['{k}']") for k, v in data.items()}
    if isinstance(data, (list, tuple)) and data and all(v is None or hasattr(v, "shape") for v in data):
        return [None if v is None else _as_array(v, role if len(data) == 1 else f"{role}[{i}]") for i, v in enumerate(data)]
    return _as_array(data, role)


def num_samples(data: dict) -> int:
    """The shared first-dim size of every array in `data` (roles → structures), or a ValueError listing them."""
    sizes = {role: [int(a.shape[0]) for a in tree.flatten(value)] for role, value in data.items() if value is not None}
    distinct = {s for v in sizes.values() for s in v}
    if len(distinct) > 1:
        detail = " ".join(f"'{role}' sizes: {', '.join(map(str, s))}" for role, s in sizes.items())
        raise ValueError(f"Data cardinality is ambiguous. Make sure all arrays contain the same number of samples. {detail}")
    if not distinct:
        raise ValueError("No data provided: `x` is None")
    return distinct.pop()


def class_weights_to_sample_weights(y: np.ndarray, class_weight: dict) -> np.ndarray:
    """Per-sample weights from a `{class: weight}` dict, for sparse or one-hot targets."""
    labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
    labels = labels.astype(np.int64)
    for cls, weight in class_weight.items():
        if isinstance(cls, bool) or not isinstance(cls, (int, np.integer)) or cls < 0:
            raise ValueError(f"`class_weight` keys must be non-negative class indices, got {cls!r}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer, np.floating)):
            raise ValueError(f"`class_weight` values must be numbers, got {weight!r} for class {cls}")
    lookup = np.ones(int(max(labels.max(initial=0), max(class_weight, default=0))) + 1, np.float32)
    for cls, weight in class_weight.items():
        lookup[cls] = weight
    return lookup[labels]


def split_for_validation(arrays: tuple, validation_split: float) -> tuple[tuple, tuple]:
    """Keras' `validation_split`: the last fraction of the samples, taken before any shuffling."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"`validation_split` must be between 0 and 1 (exclusive), got {validation_split}")
    n = num_samples({"x": arrays[0], "y": arrays[1], "sample_weight": arrays[2]})
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"`validation_split`={validation_split} leaves no samples for training or validation ({n} samples)")
    head = tuple(tree.map_structure(lambda a: a[:split_at], part) if part is not None else None for part in arrays)
    tail = tuple(tree.map_structure(lambda a: a[split_at:], part) if part is not None else None for part in arrays)
    return head, tail


class ArrayDataAdapter:
    """Batches in-memory arrays for compiled calls: each call gets a window of the epoch's samples (gathered
    in shuffled order on the host) from which its steps slice their batches on the device.

    Args:
        x, y, sample_weight: arrays, or lists/dicts of arrays, sharing their first dim.
        batch_size: samples per batch (default 32); the last batch may be smaller.
        steps: batches per epoch (default: enough to see every sample once).
        shuffle: reshuffle the samples every epoch.
        class_weight: `{class_index: weight}`, turned into sample weights.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False,
                 class_weight=None, seed: int = 0):
        x = standardize(x, "x")
        y = standardize(y, "y")
        sample_weight = standardize(sample_weight, "sample_weight")
        self.size = num_samples({"x": x, "y": y, "sample_weight": sample_weight})
        if self.size == 0:
            raise ValueError("`x` has 0 samples (its first dimension is 0); there is nothing to train or evaluate on")
        if class_weight is not None:
            targets = y[0] if isinstance(y, list) and len(y) == 1 else y
            if not isinstance(targets, np.ndarray):
                raise ValueError("`class_weight` is only supported for models with a single output and array targets `y`")
            if not isinstance(class_weight, dict):
                raise TypeError(f"`class_weight` must be a dict {{class_index: weight}}, got {type(class_weight).__name__}")
            cw = class_weights_to_sample_weights(targets, class_weight)
            if sample_weight is None:
                sample_weight = [cw] if isinstance(y, list) else cw
            elif isinstance(sample_weight, list):
                sample_weight = [None if w is None else w * cw for w in sample_weight]
            else:
                sample_weight = sample_weight * cw
        if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size <= 0):
            raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}")
        self.batch_size = int(batch_size or 32)
        self.batch_size = min(self.batch_size, self.size)
        self.num_batches = int(steps) if steps is not None else math.ceil(self.size / self.batch_size)
        if self.num_batches <= 0:
            raise ValueError(f"`steps` must be a positive integer, got {steps!r}")
        self.shuffle = shuffle
        self.host = (x, y, sample_weight)
        self.seed = seed

    @functools.cached_property
    def device(self):
        """The whole dataset on the device: what `train_on_batch` steps over, and what a sharded run replaces by
        the distribution's layout of it."""
        return jax.device_put(self.host)

    def window(self, start: int, rows: int, order: np.ndarray | None = None) -> tuple[int, tuple]:
        """`rows` consecutive samples of the epoch's `order` that include its sample `start`, on the device:
        (start's row in them, arrays).

        The window ends at the data's end rather than run past it, so every window of a call has one shape.
        Staging a window per compiled call costs far less than the whole dataset per `fit`: a large fresh
        device buffer is paid for page by page (64 MB: ~55 ms on CPU), and the host gathers the next window
        while the device runs the last one.
        """
        first = min(start, self.size - rows)
        if order is None:
            def pick(a):
                return a[first:first + rows]
        else:
            index = order[first:first + rows]

            def pick(a):
                return np.take(a, index, axis=0)
        part = tuple(tree.map_structure(pick, p) if p is not None else None for p in self.host)
        return start - first, jax.device_put(part)

    def window_rows(self, plan: list[tuple]) -> dict[int, int]:
        """Rows of the window that calls of each batch size in `plan` stage: full batches' windows hold the
        longest call's batches, so every full call of an epoch has one shape (one executable)."""
        capacity = max((fused for *_, fused in plan), default=1)
        return {size: size * capacity if size == self.batch_size else size for _, _, size, _ in plan}

    def window_specs(self, rows: int) -> tuple:
        """The shapes and dtypes of a window of `rows` samples (what ahead-of-time compilation needs)."""
        def spec(a):
            return jax.ShapeDtypeStruct((rows,) + np.shape(a)[1:], a.dtype)

        return tuple(tree.map_structure(spec, p) if p is not None else None for p in self.host)

    def calls(self, plan: list[tuple], order: np.ndarray | None):
        """Each compiled call of `plan` with its window: (first batch, batch size, batches, start row, arrays)."""
        rows = self.window_rows(plan)
        for step, start, size, fused in plan:
            offset, data = self.window(start, rows[size], order)
            yield step, size, fused, offset, data

    def epoch(self, steps_per_execution: int = 1, index: int = 0, first_step: int = 0):
        """Epoch `index`'s permutation (host indices) and plan from batch `first_step` on: (batch, first
        sample, size, batches).

        The permutation is a function of (seed, index), so a resumed run sees the same order; without
        shuffling it is None, and batches are contiguous slices.
        """
        perm = None
        if self.shuffle:
            perm = np.random.default_rng([self.seed, index]).permutation(self.size).astype(np.int32)
        plan = []
        step = first_step
        while step < self.num_batches:
            start = (step * self.batch_size) % self.size
            size = min(self.batch_size, self.size - start)
            fused = 1
            if size == self.batch_size and steps_per_execution > 1:
                full_left = (self.size - start) // self.batch_size
                fused = max(1, min(steps_per_execution, self.num_batches - step, full_left))
            plan.append((step, start, size, fused))
            step += fused
        return perm, plan


def fetch(data, perm, start, size: int):
    """Gathers one batch from device-resident arrays (inside the compiled step); `perm` None: samples in order."""
    if perm is None:
        return jax.tree_util.tree_map(lambda a: jax.lax.dynamic_slice_in_dim(a, start, size, axis=0), data)
    idx = jax.lax.dynamic_slice_in_dim(perm, start, size)
    # A permutation's indices are in range: "clip" is XLA's plain gather, without the fill mode's masking.
    return jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=0, mode="clip"), data)
