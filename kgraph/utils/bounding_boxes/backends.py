"""Which ops the box helpers run on: kgraph's, or TensorFlow's inside a tf.data pipeline (as Keras switches)."""

from __future__ import annotations

import sys

from kgraph import ops
from kgraph.layers.preprocessing.host import is_tf_tensor


class TFOps:
    """The ops the box helpers use, on TF graph tensors (tf.experimental.numpy, plus casts and dynamic shapes)."""

    def __init__(self, tf):
        self._tf = tf
        self._tnp = tf.experimental.numpy

    def __getattr__(self, name: str):
        return getattr(self._tnp, name)

    def cast(self, x, dtype):
        return self._tf.cast(x, dtype)

    def convert_to_tensor(self, x, dtype=None):
        return self._tf.convert_to_tensor(x, dtype)

    def shape(self, x) -> tuple:
        """Static dims where known, scalar tensors for the others (a tf.data batch dim)."""
        dynamic = self._tf.shape(x)
        return tuple(d if d is not None else dynamic[i] for i, d in enumerate(x.shape))

    def multiply(self, a, b):
        return a * b  # TF's operators give Python numbers the tensor's dtype (tf.experimental.numpy: float64)

    def divide(self, a, b):
        return a / b

    def clip(self, x, low, high):
        return self._tf.clip_by_value(x, self._tf.cast(low, x.dtype), self._tf.cast(high, x.dtype))


def ops_for(*values):
    """TF ops when a value is a TF tensor of a traced graph (a tf.data `map`), else kgraph's ops."""
    if "tensorflow" in sys.modules and any(is_tf_tensor(v) and not hasattr(v, "numpy") for v in values):
        return TFOps(sys.modules["tensorflow"])
    return ops
