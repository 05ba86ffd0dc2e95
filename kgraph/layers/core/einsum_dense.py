"""EinsumDense: a dense layer whose contraction is an einsum equation, with a bias over chosen output axes."""

from __future__ import annotations

import re

from kgraph import activations, constraints, initializers, ops, quantizers, regularizers
from kgraph.layers.core.low_rank import quantization_config_of, refuse_lora
from kgraph.layers.layer import Layer
from kgraph.ops.dispatch import dtype_of
from kgraph.quantizers import einsum_info, quantize_layer

_FORMS = (("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", None), (r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)", "left"),
          (r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.", "right"))


class EinsumDense(Layer):
    """`activation(einsum(equation, inputs, kernel) + bias)`, the kernel's shape read from the equation.

    Args:
        equation: "ab,bc->ac", "...ab,bc->...ac" or "ab...,bc->ac...": input, kernel and output labels.
        output_shape: the output shape without the batch dim and the ellipsis dims (an int for one dim);
            None for a dim the input determines.
        activation: an activation name or callable (default: linear).
        bias_axes: the output labels the bias spans (default: no bias).
        kernel_initializer, bias_initializer: initializers of the kernel and the bias.
        kernel_regularizer, bias_regularizer: penalties added to the loss.
        kernel_constraint, bias_constraint: constraints applied after each update.
        quantization_config: the `kgraph.quantizers.QuantizationConfig` of a quantized layer (set by `quantize`).
    """

    def __init__(self, equation: str, output_shape, activation=None, bias_axes: str | None = None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        refuse_lora(self, lora_rank)
        self.quantization_config = quantization_config_of(quantization_config)
        self.equation = equation
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self.activation = activations.get(activation)
        self.bias_axes = bias_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        kernel_shape, bias_shape = self._weight_shapes(tuple(input_shape))
        self._input_rank = len(input_shape)
        if self.quantization_mode is not None:
            self._quantized_build(kernel_shape, self.quantization_mode, self.quantization_config)
        else:
            self.kernel = self.add_weight(shape=kernel_shape, initializer=self.kernel_initializer,
                                          regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                          name="kernel")
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight(shape=bias_shape, initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.built = True

    def _weight_shapes(self, input_shape: tuple) -> tuple[tuple, tuple | None]:
        """The kernel's shape and the bias' (None without bias_axes) for inputs of `input_shape`."""
        where = f"Layer {self.name!r} (EinsumDense) with equation {self.equation!r}"
        match, elided_side = next(((m, side) for pattern, side in _FORMS
                                   if (m := re.fullmatch(pattern, self.equation))), (None, None))
        if match is None:
            raise ValueError(f"{where}: the equation must have the form ab,bc->ac, ...ab,bc->...ac or ab...,bc->ac...")
        input_spec, kernel_spec, output_spec = match.groups()
        elided = len(input_shape) - len(input_spec)
        if elided < 0 or elided and elided_side is None:
            raise ValueError(f"{where}: input spec {input_spec!r} does not fit inputs of shape {input_shape}")
        output = [input_shape[0], *self.partial_output_shape]
        if elided_side == "left":
            output[1:1] = input_shape[1:elided]
            input_dims = dict(zip(input_spec, input_shape[elided:]))
            output_dims = dict(zip(output_spec, range(elided, len(output))))
        else:
            output += input_shape[len(input_shape) - elided:]
            input_dims = dict(zip(input_spec, input_shape))
            output_dims = dict(zip(output_spec, range(len(output_spec))))
        if len(output) != len(output_spec) + elided:
            raise ValueError(f"{where}: output_shape {self.partial_output_shape} does not match output spec "
                             f"{output_spec!r} for inputs of shape {input_shape}")
        for label, position in output_dims.items():
            if label in input_dims and output[position] is not None and output[position] != input_dims[label]:
                raise ValueError(f"{where}: output_shape {self.partial_output_shape} gives label {label!r} size "
                                 f"{output[position]}, inputs of shape {input_shape} give {input_dims[label]}")
            if label in input_dims:
                output[position] = input_dims[label]
            elif label not in kernel_spec:
                raise ValueError(f"{where}: output label {label!r} is in neither the input nor the kernel spec")
        for label in kernel_spec:
            if label not in output_dims and label not in input_dims:
                raise ValueError(f"{where}: kernel label {label!r} is in neither the input nor the output spec")
        kernel = tuple(output[output_dims[c]] if c in output_dims else input_dims[c] for c in kernel_spec)
        if any(d is None for d in kernel):
            raise ValueError(f"{where}: kernel dims {kernel_spec!r} must all be known, got {kernel} for inputs of "
                             f"shape {input_shape} and output_shape {self.partial_output_shape}")
        bias = None
        if self.bias_axes:
            if any(c not in output_spec for c in self.bias_axes):
                raise ValueError(f"{where}: bias_axes {self.bias_axes!r} must be labels of the output {output_spec!r}")
            first = min(output_spec.index(c) for c in self.bias_axes)
            bias = tuple(output[output_dims[c]] if c in self.bias_axes else 1 for c in output_spec[first:])
            if elided_side == "right":
                bias += (1,) * elided
        return kernel, bias

    def call(self, inputs):
        if self.quantization_mode == "int8":
            info = self._quantization_info
            x = quantize_layer.contraction(
                self._contract, inputs, self.kernel, self.kernel_scale, self.inputs_quantizer, self.compute_dtype,
                axis=tuple(info.input_reduced_axes),
                adjust_inputs_scale=lambda scale: einsum_info.scale_for_output(info, scale, "input"),
                float_kernel=lambda: ops.divide(ops.cast(self.kernel, self.compute_dtype),
                                                einsum_info.scale_for_kernel(info, self.kernel_scale)))
        else:
            x = ops.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return self.activation(x)

    def _contract(self, inputs, kernel):
        """The layer's einsum; two int8 operands contract in int32, as Keras' int8 einsum does."""
        if dtype_of(inputs) == "int8" and dtype_of(kernel) == "int8":
            inputs, kernel = ops.cast(inputs, "int32"), ops.cast(kernel, "int32")
        return ops.einsum(self.equation, inputs, kernel)

    @property
    def _quantization_info(self) -> einsum_info.EinsumQuantization:
        return einsum_info.analyze(self.equation, self._input_rank)

    def quantize(self, mode=None, type_check: bool = True, config=None) -> None:
        """Stores the kernel in int8 with a scale per output position (`kernel_scale`, shaped as Keras shapes it
        from the equation); calls then quantize the inputs over the contracted axes and contract in integers.

        Args:
            mode: "int8" (the only mode kgraph implements; the others raise NotImplementedError).
            type_check: refuse subclasses, which may compute differently.
            config: a `kgraph.quantizers.Int8QuantizationConfig` choosing the weight and input quantizers.
        """
        config = quantize_layer.resolve(self, mode, config, type_check, EinsumDense)
        info = self._quantization_info
        kernel_value, kernel_scale = quantize_layer.weight_quantizer(config, tuple(info.kernel_reduced_axes))(
            self.kernel, to_numpy=True)
        quantize_layer.drop_weight(self, self.kernel)
        self._quantized_build(tuple(self.kernel.shape), config.mode, config)
        self.kernel.assign(kernel_value)
        self.kernel_scale.assign(einsum_info.scale_for_output(info, kernel_scale, "kernel"))
        quantize_layer.mark_quantized(self, config.mode, config)

    def _quantized_build(self, kernel_shape, mode, config) -> None:
        quantize_layer.refuse_mode(self, mode, ("int8",))
        self.inputs_quantizer = quantize_layer.inputs_quantizer(config)
        self.kernel = quantize_layer.add_weight(self, "kernel", kernel_shape, "zeros", "int8")
        scale_shape = einsum_info.kernel_scale_shape(self._quantization_info, kernel_shape)
        self.kernel_scale = quantize_layer.add_weight(self, "kernel_scale", scale_shape, "ones")
        self._is_quantized = True

    def _stored_variables(self):
        """Keras' order: kernel, bias, then the quantized kernel's scale."""
        if self.quantization_mode is None:
            return super()._stored_variables()
        return [v for v in (self.kernel, self.bias, self.kernel_scale) if v is not None]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": quantizers.serialize(self.quantization_config),
        }
