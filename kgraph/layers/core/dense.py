"""Dense: `activation(inputs @ kernel + bias)` over the last axis."""

from __future__ import annotations

from kgraph import activations, constraints, initializers, ops, regularizers, quantizers
from kgraph.layers.core.low_rank import refuse_lora, quantization_config_of
from kgraph.layers.layer import Layer
from kgraph.quantizers import int8


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
        if self.quantization_mode == "int8":
            x = int8.contraction(ops.matmul, inputs, self.kernel, self.kernel_scale, self.inputs_quantizer,
                                 self.compute_dtype, axis=-1)
        else:
            x = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return self.activation(x)

    def quantize(self, mode=None, type_check: bool = True, config=None) -> None:
        """Stores the kernel in int8 with one scale per unit (`kernel_scale`), as Keras' `Dense.quantize` does;
        calls then quantize the inputs per row and multiply in int8.

        Args:
            mode: "int8" (the only mode kgraph implements; the others raise NotImplementedError).
            type_check: refuse subclasses, which may compute differently.
            config: a `kgraph.quantizers.Int8QuantizationConfig` choosing the weight and input quantizers.
        """
        config = int8.resolve(self, mode, config, type_check, Dense)
        kernel_value, kernel_scale = int8.weight_quantizer(config, 0)(self.kernel, to_numpy=True)
        int8.drop_weight(self, self.kernel)
        self._quantized_build(tuple(self.kernel.shape), config.mode, config)
        self.kernel.assign(kernel_value)
        self.kernel_scale.assign(ops.squeeze(kernel_scale, axis=0))
        int8.mark_quantized(self, config.mode, config)

    def _quantized_build(self, kernel_shape, mode, config) -> None:
        int8.refuse_mode(self, mode)
        self.inputs_quantizer = int8.inputs_quantizer(config)
        self.kernel = int8.add_weight(self, name="kernel", shape=kernel_shape, initializer="zeros", dtype="int8",
                                      trainable=False)
        self.kernel_scale = int8.add_weight(self, name="kernel_scale", shape=(self.units,), initializer="ones",
                                            trainable=False)
        self._is_quantized = True

    def _stored_variables(self):
        """Keras' order: kernel, bias, then the quantized kernel's scale."""
        if self.quantization_mode is None:
            return super()._stored_variables()
        return [v for v in (self.kernel, self.bias, self.kernel_scale) if v is not None]

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
