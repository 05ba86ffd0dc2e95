"""What Dense, EinsumDense and Embedding share to quantize as Keras does: the argument checks, swapping a float
weight for its quantized form and scale, and the integer contraction whose gradient passes straight through."""

from __future__ import annotations

from typing import Callable

from kgraph import context, dtype_policies, ops
from kgraph.paths import name_scope
from kgraph.quantizers.quantization_config import (
    Int4QuantizationConfig, QuantizationConfig, validate_and_resolve_config,
)
from kgraph.quantizers.quantizers import AbsMaxQuantizer

SUPPORTED_MODES = ("int8", "int4")


def resolve(layer, mode, config, type_check: bool, cls: type, supported=("int8",)) -> QuantizationConfig:
    """The config `layer.quantize(mode, config=config)` applies, after Keras' checks; refuses the modes kgraph does
    not quantize to, naming them."""
    if type_check and type(layer) is not cls:
        raise NotImplementedError(f"Layer {type(layer).__name__} does not have a `quantize` method implemented.")
    config = validate_and_resolve_config(mode, config)
    mode = config.mode
    if not layer.built:
        raise ValueError(f"Cannot quantize a layer that isn't yet built. Layer '{layer.name}' (of type "
                         f"'{type(layer).__name__}') is not built yet.")
    if getattr(layer, "_is_quantized", False):
        raise ValueError(f"Layer '{layer.name}' is already quantized with dtype_policy='{layer.dtype_policy.name}'. "
                         f"Received: mode={mode}")
    if mode == "int8" and layer.compute_dtype == "float16":
        raise ValueError(f"Quantization mode='{mode}' doesn't work well with compute_dtype='float16'. Consider "
                         "loading model/layer with another dtype policy such as 'mixed_bfloat16' or 'mixed_float16' "
                         "before calling `quantize()`.")
    refuse_mode(layer, mode, supported)
    return config


def refuse_mode(layer, mode, supported=SUPPORTED_MODES) -> None:
    """Raises NotImplementedError for a quantization mode the layer (or, for a model, any layer) does not
    implement in kgraph."""
    if mode not in supported:
        raise NotImplementedError(f"Layer '{layer.name}' ({type(layer).__name__}): quantization mode {mode!r} is not "
                                  f"supported by kgraph; supported modes: {supported}.")


def weight_quantizer(config, default_axis) -> Callable:
    return QuantizationConfig.weight_quantizer_or_default(config, AbsMaxQuantizer(axis=default_axis))


def inputs_quantizer(config):
    """The quantizer of a quantized layer's inputs: the config's, Keras' `AbsMaxQuantizer()` without one."""
    return QuantizationConfig.activation_quantizer_or_default(config, AbsMaxQuantizer())


def drop_weight(layer, variable) -> None:
    """Removes `variable` from the layer's weights (the float weight quantization replaces)."""
    for tracked in (layer._trainable_variables, layer._non_trainable_variables):
        tracked[:] = [v for v in tracked if v is not variable]


def add_weight(layer, name: str, shape, initializer, dtype: str | None = None):
    """A non-trainable weight of a quantized layer, under the layer's own path also when made after `build`
    (from `quantize`)."""
    parent = layer.path.rpartition("/")[0] if layer.path else None
    with name_scope(layer.name, caller=layer, override_parent=parent):
        return layer.add_weight(name=name, shape=shape, initializer=initializer, dtype=dtype, trainable=False)


def mark_quantized(layer, mode: str, config) -> None:
    """Records the mode in the layer's policy ("int8_from_float32", "int4/128_from_float32"), as Keras'
    `quantize` does."""
    layer.quantization_config = config
    layer._is_quantized = True
    if layer.dtype_policy.quantization_mode is None:
        layer.dtype_policy = dtype_policies.get(f"{mode}_from_{layer.dtype_policy.name}")


def int4_block_size(layer, config) -> int | None:
    """The rows per group of int4 sub-channel quantization, None for per-channel: from the config, else from
    the layer's `Int4DTypePolicy` (a loaded layer's)."""
    if isinstance(config, Int4QuantizationConfig):
        return config.block_size
    policy = layer._policy()
    if isinstance(policy, dtype_policies.Int4DTypePolicy):
        return None if policy.block_size == -1 else policy.block_size
    return None


def _training() -> bool:
    flags = context.current().training
    return bool(flags and flags[-1])


def contraction(contract: Callable, inputs, kernel, kernel_scale, quantizer, compute_dtype: str, axis,
                adjust_inputs_scale: Callable = lambda s: s, float_kernel: Callable | None = None):
    """Keras' int8 forward: inputs quantized by `quantizer` over `axis` (or kept in float without one), contracted
    with the int8 kernel by `contract`, de-scaled. In training, the gradient reaches the inputs through the
    de-quantized kernel (Keras' custom gradient), never through the rounding."""
    output_scale = kernel_scale
    quantized = inputs
    if quantizer:
        quantized, inputs_scale = quantizer(inputs, axis=axis)
        output_scale = ops.multiply(output_scale, adjust_inputs_scale(inputs_scale))
        product = contract(quantized, kernel)
    else:
        product = contract(quantized, ops.cast(kernel, compute_dtype))
    outputs = ops.stop_gradient(ops.divide(ops.cast(product, compute_dtype), output_scale))
    if not _training():
        return outputs
    dequantized = (float_kernel or (lambda: ops.divide(ops.cast(kernel, compute_dtype), kernel_scale)))()
    through = contract(inputs, ops.stop_gradient(dequantized))
    return ops.add(outputs, ops.subtract(through, ops.stop_gradient(through)))
