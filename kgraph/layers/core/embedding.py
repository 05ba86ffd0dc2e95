"""Embedding: a lookup of rows of a trainable `(input_dim, output_dim)` matrix by integer index."""

from __future__ import annotations

from kgraph import constraints, initializers, ops, regularizers
from kgraph.layers.core.low_rank import refuse_lora_and_quantization
from kgraph.layers.layer import Layer
from kgraph.ops.dispatch import dtype_of


class Embedding(Layer):
    """Turns non-negative integer indices into dense vectors: `embeddings[inputs]`.

    Args:
        input_dim: positive int, the vocabulary size (largest index + 1).
        output_dim: positive int, the size of each vector.
        embeddings_initializer: initializer of the matrix (default "uniform": uniform in [-0.05, 0.05]).
        embeddings_regularizer: penalty on the matrix added to the loss.
        embeddings_constraint: constraint applied to the matrix after each update.
        mask_zero: whether index 0 is padding; the output then carries the mask `inputs != 0`.
        weights: an initial `(input_dim, output_dim)` matrix.
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero: bool = False, weights=None, lora_rank=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        refuse_lora_and_quantization(self, lora_rank, quantization_config)
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Embedding: `{name}` must be a positive integer, got {name}={value!r}")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if weights is not None:
            self.build()
            self.set_weights(weights if isinstance(weights, list) else [weights])

    def build(self, input_shape=None) -> None:
        if self.built:
            return
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint, name="embeddings")
        self.built = True

    def call(self, inputs):
        if dtype_of(inputs) not in ("int32", "int64"):
            inputs = ops.cast(inputs, "int32")
        return ops.take(self.embeddings, inputs, axis=0)

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs, 0) if self.mask_zero else None

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "quantization_config": None,
        }
