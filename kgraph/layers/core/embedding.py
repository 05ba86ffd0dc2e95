"""Embedding: a lookup of rows of a trainable `(input_dim, output_dim)` matrix by integer index."""

from __future__ import annotations

import math

import numpy as np

from kgraph import constraints, initializers, ops, quantizers, regularizers
from kgraph.layers.core.low_rank import quantization_config_of, refuse_lora
from kgraph.layers.layer import Layer
from kgraph.quantizers import quantize_layer

_MODES = ("int8", "int4")
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
            self._quantized_build(self.quantization_mode, self.quantization_config)
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
        if self.quantization_mode is not None:
            return self._quantized_lookup(inputs)
        return ops.take(self.embeddings, inputs, axis=0)

    def _quantized_lookup(self, inputs):
        scale = ops.take(self.embeddings_scale, inputs, axis=0)
        if self.quantization_mode == "int8":
            outputs = ops.take(self.embeddings, inputs, axis=0)
        else:
            unpacked = quantizers.unpack_int4(self.embeddings, self.output_dim, axis=-1)
            outputs = ops.take(unpacked, inputs, axis=0)
        if getattr(self, "embeddings_zero", None) is not None:
            return quantizers.dequantize_with_sz_map(ops.cast(outputs, self.compute_dtype), scale,
                                                     ops.take(self.embeddings_zero, inputs, axis=0), self.g_idx,
                                                     group_axis=-1)
        return ops.divide(ops.cast(outputs, self.compute_dtype), ops.expand_dims(scale, axis=-1))

    def quantize(self, mode=None, type_check: bool = True, config=None) -> None:
        """Stores the embeddings quantized as Keras' `Embedding.quantize` does, no longer trained: "int8" with one
        scale per row (`embeddings_scale`); "int4" packed two values per byte, per row (`block_size` -1) or per
        group of `block_size` columns with a zero point (`embeddings_zero`, `g_idx`).

        Args:
            mode: "int8" or "int4" (the other modes raise NotImplementedError).
            type_check: refuse subclasses, which may compute differently.
            config: a `kgraph.quantizers.Int8QuantizationConfig` or `Int4QuantizationConfig`.
        """
        config = quantize_layer.resolve(self, mode, config, type_check, Embedding, supported=_MODES)
        embeddings, zero = self.embeddings, None
        block = quantize_layer.int4_block_size(self, config)
        if config.mode == "int8":
            values, scale = quantize_layer.weight_quantizer(config, -1)(embeddings, to_numpy=True)
            scale = ops.squeeze(scale, axis=-1)
        elif block in (None, -1):
            quantizer = quantizers.QuantizationConfig.weight_quantizer_or_default(
                config, quantizers.AbsMaxQuantizer(axis=-1, value_range=(-8, 7), output_dtype="int8"))
            values, scale = quantizer(embeddings, to_numpy=True)
            scale = ops.squeeze(scale, axis=-1)
        else:
            values, scale, zero = (ops.transpose(t) for t in quantizers.abs_max_quantize_grouped_with_zero_point(
                ops.transpose(embeddings), block_size=block, to_numpy=True))
        if config.mode == "int4":
            values = quantizers.pack_int4(values, axis=-1)[0]
        quantize_layer.drop_weight(self, embeddings)
        self._quantized_build(config.mode, config)
        self.embeddings.assign(values)
        self.embeddings_scale.assign(scale)
        if zero is not None:
            self.embeddings_zero.assign(zero)
        quantize_layer.mark_quantized(self, "int8" if config.mode == "int8" else f"int4/{block or -1}", config)

    def _quantized_build(self, mode, config=None) -> None:
        quantize_layer.refuse_mode(self, mode, _MODES)
        stored, scale_shape, block = (self.input_dim, self.output_dim), (self.input_dim,), None
        if mode == "int4":
            block = quantize_layer.int4_block_size(self, config)
            stored = (self.input_dim, (self.output_dim + 1) // 2)
            if block not in (None, -1):
                scale_shape = (self.input_dim, math.ceil(self.output_dim / block))
        self.embeddings = quantize_layer.add_weight(self, "embeddings", stored, "zeros", "int8")
        self.embeddings_scale = quantize_layer.add_weight(self, "embeddings_scale", scale_shape, "ones")
        if block not in (None, -1):
            self.embeddings_zero = quantize_layer.add_weight(self, "embeddings_zero", scale_shape, "zeros", "int8")
            self.g_idx = quantize_layer.add_weight(
                self, "g_idx", (self.output_dim,),
                lambda shape, dtype=None: np.arange(self.output_dim, dtype="float32") // block, "float32")
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
