"""Keras' LoRA and quantization arguments of Dense, EinsumDense and Embedding, which kgraph does not implement."""

from __future__ import annotations


def refuse_lora_and_quantization(layer, lora_rank, quantization_config) -> None:
    """Accepts Keras' defaults (`None`) and refuses any other value clearly rather than ignoring it."""
    for argument, value, what in (("lora_rank", lora_rank, "LoRA"),
                                  ("quantization_config", quantization_config, "quantization")):
        if value is not None:
            raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}): `{argument}` is not supported by kgraph "
                             f"({what} is not implemented). Received: {argument}={value!r}; pass {argument}=None.")
