"""Quantization (Keras 3's `keras.quantizers`): quantizers, quantization functions and configs.

`Model.quantize("int8")` / `Layer.quantize("int8")` use them to store Dense, EinsumDense and Embedding weights in
int8 with per-channel scales, as Keras does.
"""

from __future__ import annotations

import inspect

from kgraph.quantizers.quantization_config import (
    Float8QuantizationConfig, Int4QuantizationConfig, Int8QuantizationConfig, QuantizationConfig,
)
from kgraph.quantizers.quantizers import (
    AbsMaxQuantizer, Quantizer, abs_max_quantize, abs_max_quantize_grouped_with_zero_point,
    compute_float8_amax_history, compute_float8_scale, compute_quantization_parameters, dequantize_with_sz_map,
    fake_quant_with_min_max_vars, pack_int4, quantize_and_dequantize, quantize_with_sz_map, unpack_int4,
)
from kgraph.saving.serialization import deserialize_keras_object, serialize_keras_object
from kgraph.saving.walk import to_snake_case

__all__ = [
    "AbsMaxQuantizer", "Float8QuantizationConfig", "Int4QuantizationConfig", "Int8QuantizationConfig",
    "QuantizationConfig", "Quantizer", "abs_max_quantize", "abs_max_quantize_grouped_with_zero_point",
    "compute_float8_amax_history", "compute_float8_scale", "compute_quantization_parameters",
    "dequantize_with_sz_map", "deserialize", "fake_quant_with_min_max_vars", "get", "pack_int4",
    "quantize_and_dequantize", "quantize_with_sz_map", "serialize", "unpack_int4",
]

ALL_OBJECTS = (Quantizer, AbsMaxQuantizer, QuantizationConfig, Int8QuantizationConfig, Int4QuantizationConfig,
               Float8QuantizationConfig)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})


def serialize(quantizer) -> dict:
    """A quantizer's or quantization config's Keras config (`{"module", "class_name", "config", ...}`)."""
    return serialize_keras_object(quantizer)


def deserialize(config, custom_objects: dict | None = None):
    """A quantizer or quantization config from `serialize`'s output (or Keras')."""
    return deserialize_keras_object(config, module_objects=ALL_OBJECTS_DICT, custom_objects=custom_objects)


def get(identifier, **kwargs):
    """A quantizer from None, a config dict, a class name ("AbsMaxQuantizer", "abs_max_quantizer") or an instance.

    Args:
        identifier: what names the quantizer.
        **kwargs: the arguments a class named by a string is built with.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
    else:
        obj = identifier
    if not callable(obj) and not isinstance(obj, QuantizationConfig):
        raise ValueError(f"Could not interpret quantizer identifier: {identifier}")
    return obj(**kwargs) if inspect.isclass(obj) else obj
