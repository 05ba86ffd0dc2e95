"""Dense: `activation(inputs @ kernel + bias)` over the last axis."""

from __future__ import annotations

import math

import numpy as np

from kgraph import activations, constraints, initializers, ops, regularizers, quantizers
from kgraph.layers.core.low_rank import refuse_lora, quantization_config_of
from kgraph.layers.layer import Layer
from kgraph.quantizers import quantize_layer

_MODES = ("int8", "int4")


class Dense(Layer):
    """A densely connected layer.

    Args:
        units: positive int, the size of the output's last dim.
        activation: an activation name or callable (default: none, i.e. linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers for the kernel (default "glorot_uniform")
            and the bias (default "zeros").
        kernel_regularizer, bias_regularizer: penalties added to the loss.
        quantization_config: the `kgraph.quantizers.QuantizationConfig` of a quantized layer (set by `quantize`).
    """

    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None, quantization_config=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive integer. Received: units={units!r}")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        refuse_lora(self, lora_rank)
        self.quantization_config = quantization_config_of(quantization_config)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        if not input_shape or input_shape[-1] is None:
            raise ValueError(f"Layer {self.name!r} (Dense) needs a known last input dim, got input shape {input_shape}")
        if self.quantization_mode is not None:
            self._quantized_build((input_shape[-1], self.units), self.quantization_mode, self.quantization_config)
        else:
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer=self.kernel_initializer,
                                          regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                          name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_dim = input_shape[-1]
        self.built = True

    def call(self, inputs):
        if inputs.shape[-1] != self.input_dim and inputs.shape[-1] is not None:
            raise ValueError(f"Layer {self.name!r} (Dense) expects inputs with last dim {self.input_dim}, "
                             f"got inputs of shape {tuple(inputs.shape)}")
        if self.quantization_mode is not None:
            x = self._quantized_matmul(inputs)
        else:
            x = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return self.activation(x)

    def quantize(self, mode=None, type_check: bool = True, config=None) -> None:
        """Stores the kernel quantized as Keras' `Dense.quantize` does: "int8" keeps an int8 kernel with one scale
        per unit (`kernel_scale`) and quantizes the inputs per row at call; "int4" packs two 4-bit values per byte
        along the units, per unit (`block_size` -1) or per group of `block_size` inputs with a zero point
        (`kernel_zero`, `g_idx`; the default `Int4QuantizationConfig` has groups of 128).

        Args:
            mode: "int8" or "int4" (the other modes raise NotImplementedError).
            type_check: refuse subclasses, which may compute differently.
            config: a `kgraph.quantizers.Int8QuantizationConfig` or `Int4QuantizationConfig`.
        """
        config = quantize_layer.resolve(self, mode, config, type_check, Dense, supported=_MODES)
        kernel, zero = self.kernel, None
        block = quantize_layer.int4_block_size(self, config)
        if config.mode == "int8":
            values, scale = quantize_layer.weight_quantizer(config, 0)(kernel, to_numpy=True)
            scale = ops.squeeze(scale, axis=0)
        elif block in (None, -1):
            quantizer = quantizers.QuantizationConfig.weight_quantizer_or_default(
                config, quantizers.AbsMaxQuantizer(axis=0, value_range=(-8, 7), output_dtype="int8"))
            values, scale = quantizer(kernel, to_numpy=True)
            scale = ops.squeeze(scale, axis=0)
        else:
            values, scale, zero = quantizers.abs_max_quantize_grouped_with_zero_point(kernel, block_size=block,
                                                                                       to_numpy=True)
        if config.mode == "int4":
            values = quantizers.pack_int4(values, axis=-1)[0]
        quantize_layer.drop_weight(self, kernel)
        self._quantized_build(tuple(kernel.shape), config.mode, config)
        self.kernel.assign(values)
        self.kernel_scale.assign(scale)
        if zero is not None:
            self.kernel_zero.assign(zero)
        quantize_layer.mark_quantized(self, "int8" if config.mode == "int8" else f"int4/{block or -1}", config)

    def _quantized_build(self, kernel_shape, mode, config) -> None:
        quantize_layer.refuse_mode(self, mode, _MODES)
        input_dim, units = kernel_shape
        if mode == "int8":
            self.inputs_quantizer = quantize_layer.inputs_quantizer(config)
            stored_shape, scale_shape = kernel_shape, (units,)
        else:
            self.inputs_quantizer = quantizers.QuantizationConfig.activation_quantizer_or_default(config, None)
            block = quantize_layer.int4_block_size(self, config)
            groups = block not in (None, -1)
            stored_shape = (input_dim, (units + 1) // 2)
            scale_shape = (math.ceil(input_dim / block), units) if groups else (units,)
        self.kernel = quantize_layer.add_weight(self, "kernel", stored_shape, "zeros", "int8")
        self.kernel_scale = quantize_layer.add_weight(self, "kernel_scale", scale_shape, "ones")
        if mode == "int4" and groups:
            self.kernel_zero = quantize_layer.add_weight(self, "kernel_zero", scale_shape, "zeros", "int8")
            self.g_idx = quantize_layer.add_weight(
                self, "g_idx", (input_dim,), lambda shape, dtype=None: np.arange(input_dim, dtype="float32") // block,
                "float32")
        self._is_quantized = True

    def _quantized_matmul(self, inputs):
        if self.quantization_mode == "int8":
            return quantize_layer.contraction(ops.matmul, inputs, self.kernel, self.kernel_scale,
                                              self.inputs_quantizer, self.compute_dtype, axis=-1)
        unpacked = quantizers.unpack_int4(self.kernel, self.units, axis=-1)
        if getattr(self, "kernel_zero", None) is None:
            return quantize_layer.contraction(ops.matmul, inputs, unpacked, self.kernel_scale,
                                              self.inputs_quantizer, self.compute_dtype, axis=-1)
        float_kernel = quantizers.dequantize_with_sz_map(unpacked, self.kernel_scale, self.kernel_zero, self.g_idx,
                                                         group_axis=0)
        return ops.matmul(inputs, ops.stop_gradient(ops.cast(float_kernel, self.compute_dtype)))

    def _stored_variables(self):
        """Keras' order: kernel, bias, then the quantized kernel's scale (and int4 groups' zero points and
        indices)."""
        if self.quantization_mode is None:
            return super()._stored_variables()
        quantized = (self.kernel, self.bias, self.kernel_scale, getattr(self, "kernel_zero", None),
                     getattr(self, "g_idx", None))
        return [v for v in quantized if v is not None]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": quantizers.serialize(self.quantization_config),
        }
