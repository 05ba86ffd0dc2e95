"""Embedding: a lookup of rows of a trainable `(input_dim, output_dim)` matrix by integer index."""

from __future__ import annotations

from kgraph import constraints, initializers, ops, quantizers, regularizers
from kgraph.layers.core.low_rank import quantization_config_of, refuse_lora
from kgraph.layers.layer import Layer
from kgraph.quantizers import int8
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
        quantization_config: the `kgraph.quantizers.QuantizationConfig` of a quantized layer (set by `quantize`).
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero: bool = False, weights=None, lora_rank=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        refuse_lora(self, lora_rank)
        self.quantization_config = quantization_config_of(quantization_config)
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
        if self.quantization_mode is not None:
            self._quantized_build(self.quantization_mode)
            self.built = True
            return
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint, name="embeddings")
        self.built = True

    def call(self, inputs):
        if dtype_of(inputs) not in ("int32", "int64"):
            inputs = ops.cast(inputs, "int32")
        if self.quantization_mode == "int8":
            scale = ops.take(self.embeddings_scale, inputs, axis=0)
            outputs = ops.take(self.embeddings, inputs, axis=0)
            return ops.divide(ops.cast(outputs, self.compute_dtype), ops.expand_dims(scale, axis=-1))
        return ops.take(self.embeddings, inputs, axis=0)

    def quantize(self, mode=None, type_check: bool = True, config=None) -> None:
        """Stores the embeddings in int8 with one scale per row (`embeddings_scale`), as Keras'
        `Embedding.quantize` does; the quantized embeddings are no longer trained.

        Args:
            mode: "int8" (the only mode kgraph implements; the others raise NotImplementedError).
            type_check: refuse subclasses, which may compute differently.
            config: a `kgraph.quantizers.Int8QuantizationConfig` choosing the weight quantizer.
        """
        config = int8.resolve(self, mode, config, type_check, Embedding)
        values, scale = int8.weight_quantizer(config, -1)(self.embeddings, to_numpy=True)
        int8.drop_weight(self, self.embeddings)
        self._quantized_build(config.mode)
        self.embeddings.assign(values)
        self.embeddings_scale.assign(ops.squeeze(scale, axis=-1))
        int8.mark_quantized(self, config.mode, config)

    def _quantized_build(self, mode) -> None:
        int8.refuse_mode(self, mode, ("int8",))
        self.embeddings = int8.add_weight(self, name="embeddings", shape=(self.input_dim, self.output_dim),
                                          initializer="zeros", dtype="int8", trainable=False)
        self.embeddings_scale = int8.add_weight(self, name="embeddings_scale", shape=(self.input_dim,),
                                                initializer="ones", trainable=False)
        self._is_quantized = True

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
            "quantization_config": quantizers.serialize(self.quantization_config),
        }
