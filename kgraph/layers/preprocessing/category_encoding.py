"""CategoryEncoding: integer category ids to one-hot, multi-hot or count vectors."""

from __future__ import annotations

import numpy as np

from kgraph.layers.layer import Layer
from kgraph.layers.preprocessing.encoding import encode_categorical
from kgraph.layers.preprocessing.host import is_tf_tensor, tf_module
from kgraph.layers.preprocessing.index_lookup import encode_tf


def graph_tf_tensor(x) -> bool:
    """True for a TF tensor of a traced graph (a tf.data `map` function), which only TF ops can take."""
    return is_tf_tensor(x) and not hasattr(x, "numpy")


def eager_tf_to_numpy(x):
    return x.numpy() if is_tf_tensor(x) else x


class CategoryEncoding(Layer):
    """Encodes integer ids in [0, num_tokens) as Keras does; runs in models, in ONNX and in tf.data pipelines.

    Args:
        num_tokens: the number of categories, the width of the output.
        output_mode: "one_hot" (one vector per id), "multi_hot" (one per sample, 1 where an id occurs) or "count"
            (how often each id occurs; `count_weights` in `call` weigh the occurrences).
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in ("count", "one_hot", "multi_hot"):
            raise ValueError(f"Unknown arg for output_mode: {output_mode}")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of tokens is not known "
                             "beforehand, use the IntegerLookup layer instead.")
        if num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        self.num_tokens = num_tokens
        self.output_mode = output_mode
        self.sparse = sparse
        self.built = True

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"`count_weights` is not used when `output_mode` is not `'count'`. Received "
                             f"`count_weights={count_weights}`.")
        if graph_tf_tensor(inputs):
            return encode_tf(tf_module(), inputs, self.output_mode, self.num_tokens, self.compute_dtype, count_weights)
        if count_weights is not None:
            count_weights = np.asarray(eager_tf_to_numpy(count_weights), self.compute_dtype) \
                if not hasattr(count_weights, "dtype") or is_tf_tensor(count_weights) else count_weights
        return encode_categorical(eager_tf_to_numpy(inputs), self.output_mode, self.num_tokens, self.compute_dtype,
                                  count_weights)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and (input_shape[-1] != 1 or len(input_shape) == 1):
            return input_shape + (self.num_tokens,)
        return input_shape[:-1] + (self.num_tokens,)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}
