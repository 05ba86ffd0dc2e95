"""Reads a Python generator (or any iterator) batch by batch; it can be read only once."""

from __future__ import annotations

from kgraph.runtime.data_adapters.base import StreamAdapter


class GeneratorDataAdapter(StreamAdapter):
    """Batches from `next(generator)`, for as long as it yields.

    A generator cannot start over: without `steps` an epoch lasts until it stops; with `steps` each epoch
    takes the next `steps` batches. Once it has stopped, an epoch ends at once with Keras' "ran out of
    data" warning (and yields nothing), which tells the trainer to stop.

    Args:
        generator: a generator or iterator yielding `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`.
        steps: batches per epoch, or None for "until the generator stops".
        class_weight: `{class_index: weight}` applied to each batch.
    """

    source_name = "generator"
    reiterable = False

    def __init__(self, generator, steps=None, class_weight=None):
        super().__init__(None, steps, class_weight)
        self.generator = generator

    def _open(self):
        return self.generator
