"""Reads a `tf.data.Dataset`, one pass per epoch, through `as_numpy_iterator()`."""

from __future__ import annotations

from kgraph.runtime.data_adapters.base import StreamAdapter


def is_tf_dataset(x) -> bool:
    """True for a `tf.data.Dataset`, found by its class's module so tensorflow is never imported here."""
    return any(c.__name__ == "DatasetV2" and c.__module__.startswith("tensorflow") for c in type(x).__mro__)


class TFDatasetAdapter(StreamAdapter):
    """Batches from `dataset.as_numpy_iterator()`; the dataset should already be batched (`.batch(n)`).

    `num_batches` is the dataset's cardinality, None when it is infinite (`.repeat()`) or unknown
    (`.filter()`); an infinite dataset needs `steps`.

    Args:
        dataset: a `tf.data.Dataset` yielding `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`.
        steps: batches per epoch, or None for one pass.
        class_weight: `{class_index: weight}` applied to each batch.
    """

    source_name = "tf.data.Dataset"

    def __init__(self, dataset, steps=None, class_weight=None):
        cardinality = int(dataset.cardinality())
        super().__init__(cardinality if cardinality >= 0 else None, steps, class_weight)
        self.dataset = dataset

    def _open(self):
        return self.dataset.as_numpy_iterator()
