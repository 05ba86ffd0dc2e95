"""Discretization: buckets continuous values by boundaries, given or learned as approximate quantiles by `adapt`."""

from __future__ import annotations

import numpy as np

from kgraph import ops
from kgraph.layers.layer import Layer
from kgraph.layers.preprocessing.category_encoding import eager_tf_to_numpy, graph_tf_tensor
from kgraph.layers.preprocessing.encoding import encode_categorical
from kgraph.layers.preprocessing.host import is_tf_tensor, tf_module
from kgraph.layers.preprocessing.index_lookup import encode_tf


def summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """A quantile summary of `values`: about 1/epsilon evenly spaced sorted values and the count each stands for."""
    values = np.sort(np.reshape(values, [-1]))
    step = max(values.size / (1.0 / epsilon), 1)
    boundaries = values[int(step - 1)::int(step)]
    return np.stack([boundaries, np.ones_like(boundaries) * step])


def compress_summary(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """Re-bins a summary to about 1/epsilon entries by interpolating its cumulative weights."""
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum_weights = summary[1].cumsum()
    cum_percents = cum_weights / cum_weights[-1]
    new_bins = np.interp(percents, cum_percents, summary[0])
    cum_weights = np.interp(percents, cum_percents, cum_weights)
    new_weights = cum_weights - np.concatenate((np.array([0]), cum_weights[:-1]))
    return np.stack((new_bins, new_weights)).astype("float32")


def merge_summaries(prev: np.ndarray, new: np.ndarray, epsilon: float) -> np.ndarray:
    merged = np.concatenate((prev, new), axis=1)
    return compress_summary(np.take(merged, np.argsort(merged[0]), axis=1), epsilon)


class Discretization(Layer):
    """Maps each value to the index of its bucket: `i` where `boundaries[i-1] <= x < boundaries[i]`.

    Args:
        bin_boundaries: increasing boundaries; n boundaries make n + 1 buckets.
        num_bins: instead, learn `num_bins - 1` quantile boundaries with `adapt`.
        epsilon: the error tolerance of the learned quantiles.
        output_mode: "int", "one_hot", "multi_hot" or "count".
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False,
                 dtype=None, name=None):
        super().__init__(name=name, dtype=dtype)
        if sparse:
            raise ValueError("`sparse=True` cannot be used with backend jax")
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError(f"Received: output_mode={output_mode}. Expected one of "
                             "('int', 'one_hot', 'multi_hot', 'count')")
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"`num_bins` must be greater than or equal to 0. Received: `num_bins={num_bins}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(f"Both `num_bins` and `bin_boundaries` should not be set. Received: "
                             f"`num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = sparse
        self.summary = None if bin_boundaries else np.array([[], []], dtype="float32")
        self.built = True

    @property
    def output_dtype(self) -> str:
        return self.compute_dtype if self.output_mode != "int" else "int32"

    def adapt(self, data, steps: int | None = None) -> None:
        """Learns `num_bins - 1` quantile boundaries from `data` (an array, a tf.data.Dataset or batches).

        Args:
            data: the values to summarize.
            steps: how many batches of a dataset or iterable to read (all when None).
        """
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized with `bin_boundaries`, "
                             "use `num_bins` instead.")
        self.summary = np.array([[], []], dtype="float32")
        whole = hasattr(data, "shape") or not hasattr(data, "__iter__")
        batches = [data] if whole else (b for i, b in enumerate(data) if steps is None or i < steps)
        for batch in batches:
            batch = np.array(eager_tf_to_numpy(batch)).astype("float32")
            self.summary = merge_summaries(summarize(batch, self.epsilon), self.summary, self.epsilon)
        self.bin_boundaries = compress_summary(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at construction time or call "
                             "`adapt(dataset)` before you can start using the `Discretization` layer.")
        depth = len(self.bin_boundaries) + 1
        if graph_tf_tensor(inputs):
            tf = tf_module()
            indices = tf.raw_ops.Bucketize(input=tf.cast(inputs, "float32"), boundaries=list(self.bin_boundaries))
            if self.output_mode == "int":
                return tf.cast(indices, self.output_dtype)
            return encode_tf(tf, indices, self.output_mode, depth, self.output_dtype)
        x = eager_tf_to_numpy(inputs)
        boundaries = np.asarray(self.bin_boundaries, "float32")
        above = ops.greater_equal(ops.expand_dims(x, -1), boundaries)
        indices = ops.sum(ops.cast(above, "int32"), axis=-1)
        return encode_categorical(indices, self.output_mode, depth, self.output_dtype)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return input_shape
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        if self.output_mode == "one_hot":
            if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
                return tuple(input_shape[:-1]) + (depth,)
            return tuple(input_shape) + (depth,)
        if input_shape and len(input_shape) >= 2:
            return (input_shape[0],) + tuple(input_shape[2:]) + (depth,)
        return (depth,)

    def load_own_variables(self, store) -> None:
        if len(store) == 1:
            self.summary = store["0"]

    def get_config(self) -> dict:
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse, "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> "Discretization":
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = boundaries
            return layer
        return cls(**config)
