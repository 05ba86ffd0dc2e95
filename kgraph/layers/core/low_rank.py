"""Keras' LoRA argument of Dense, EinsumDense and Embedding, which kgraph does not implement, and their
`quantization_config` argument."""

from __future__ import annotations

from kgraph import quantizers


def refuse_lora(layer, lora_rank) -> None:
    """Accepts Keras' default (`None`) and refuses any other value clearly rather than ignoring it."""
    if lora_rank is not None:
        raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}): `lora_rank` is not supported by kgraph "
                         f"(LoRA is not implemented). Received: lora_rank={lora_rank!r}; pass lora_rank=None.")


def quantization_config_of(value):
    """A layer's `quantization_config` argument as a `QuantizationConfig` (a config dict from a file is rebuilt)."""
    if value is None or isinstance(value, quantizers.QuantizationConfig):
        return value
    if isinstance(value, dict):
        return quantizers.deserialize(value)
    raise ValueError("Argument `quantization_config` must be a `kgraph.quantizers.QuantizationConfig` or its config. "
                     f"Received: quantization_config={value!r} (of type {type(value).__name__})")
