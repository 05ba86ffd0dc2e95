"""Quantization configs (Keras 3's `keras.quantizers.*QuantizationConfig`): the mode `quantize` applies and the
quantizers it uses for weights and activations."""

from __future__ import annotations

from kgraph.dtype_policies.quantized import QUANTIZATION_MODES
from kgraph.quantizers.quantizers import AbsMaxQuantizer, Quantizer
from kgraph.saving.serialization import deserialize_keras_object, serialize_keras_object

ALL_QUANTIZERS = {"Quantizer": Quantizer, "AbsMaxQuantizer": AbsMaxQuantizer}


def _quantizer(config):
    return deserialize_keras_object(config, module_objects=ALL_QUANTIZERS)


class QuantizationConfig:
    """Base class of quantization configs; subclasses name their `mode`.

    Args:
        weight_quantizer: the quantizer of the weights (None: the layer's default).
        activation_quantizer: the quantizer of the inputs (None: weights only).
    """

    _keras_location = ("keras.quantizers", "QuantizationConfig", None)

    def __init__(self, weight_quantizer=None, activation_quantizer=None):
        self.weight_quantizer = weight_quantizer
        self.activation_quantizer = activation_quantizer

    @property
    def mode(self) -> str:
        raise NotImplementedError("Subclasses must implement this property. Do not instantiate QuantizationConfig "
                                  "directly.")

    def get_config(self) -> dict:
        return {"weight_quantizer": serialize_keras_object(self.weight_quantizer),
                "activation_quantizer": serialize_keras_object(self.activation_quantizer)}

    @classmethod
    def from_config(cls, config: dict) -> "QuantizationConfig":
        return cls(weight_quantizer=_quantizer(config.get("weight_quantizer")),
                   activation_quantizer=_quantizer(config.get("activation_quantizer")))

    @staticmethod
    def weight_quantizer_or_default(config, default):
        if config is not None and config.weight_quantizer is not None:
            return config.weight_quantizer
        return default

    @staticmethod
    def activation_quantizer_or_default(config, default):
        return config.activation_quantizer if config is not None else default


class Int8QuantizationConfig(QuantizationConfig):
    """Int8 quantization: int8 weights with per-channel scales; inputs quantized per row by default.

    Args:
        weight_quantizer: the weights' quantizer (default `AbsMaxQuantizer` over the layer's reduced axes).
        activation_quantizer: the inputs' quantizer; "default" is `AbsMaxQuantizer()`, None keeps float inputs.
    """

    _keras_location = ("keras.quantizers", "Int8QuantizationConfig", None)

    def __init__(self, weight_quantizer=None, activation_quantizer="default"):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = AbsMaxQuantizer()
        super().__init__(weight_quantizer, activation_quantizer)
        if self.weight_quantizer is not None and self.weight_quantizer.output_dtype != "int8":
            raise ValueError("Int8QuantizationConfig requires a weight_quantizer with output_dtype='int8'. "
                             f"Received: output_dtype={self.weight_quantizer.output_dtype}")

    @property
    def mode(self) -> str:
        return "int8"


class Int4QuantizationConfig(QuantizationConfig):
    """Int4 quantization's config (kgraph's layers do not quantize to int4 yet; the config loads and saves).

    Args:
        weight_quantizer: the weights' quantizer, with value_range (-8, 7).
        activation_quantizer: the inputs' quantizer; "default" is None.
        block_size: rows per group for sub-channel quantization; None or -1 for per-channel.
    """

    _keras_location = ("keras.quantizers", "Int4QuantizationConfig", None)

    def __init__(self, weight_quantizer=None, activation_quantizer="default", block_size=128):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = None
        super().__init__(weight_quantizer, activation_quantizer)
        if block_size is not None and block_size != -1 and block_size <= 0:
            raise ValueError(f"block_size must be None, -1, or a positive integer. Received: block_size={block_size}")
        self.block_size = block_size
        if block_size is not None and block_size > 0 and (weight_quantizer is not None
                                                          or self.activation_quantizer is not None):
            raise ValueError("Int4 sub-channel quantization (block_size > 0) does not support custom quantizers. "
                             "Either set block_size to None or -1 for per-channel quantization, or remove the custom "
                             f"quantizer arguments. Received: block_size={block_size}")
        if self.weight_quantizer is not None and tuple(self.weight_quantizer.value_range) != (-8, 7):
            raise ValueError("Int4QuantizationConfig requires a weight_quantizer with value_range=(-8, 7). "
                             f"Received: value_range={self.weight_quantizer.value_range}")

    @property
    def mode(self) -> str:
        return "int4"

    def get_config(self) -> dict:
        return {**super().get_config(), "block_size": self.block_size}

    @classmethod
    def from_config(cls, config: dict) -> "Int4QuantizationConfig":
        return cls(weight_quantizer=_quantizer(config.get("weight_quantizer")),
                   activation_quantizer=_quantizer(config.get("activation_quantizer")),
                   block_size=config.get("block_size"))


class Float8QuantizationConfig(QuantizationConfig):
    """Float8 training's config: it takes no quantizers."""

    _keras_location = ("keras.quantizers", "Float8QuantizationConfig", None)

    def __init__(self):
        super().__init__(None, None)

    @property
    def mode(self) -> str:
        return "float8"

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Float8QuantizationConfig":
        return cls()


def validate_and_resolve_config(mode, config) -> QuantizationConfig:
    """The config `quantize(mode, config)` applies: the mode's default config when `config` is None; checks that
    mode and config agree."""
    if isinstance(config, str):
        mode, config = config, None
    _validate_mode(mode)
    if config is None:
        defaults = {"int8": Int8QuantizationConfig, "int4": Int4QuantizationConfig,
                    "float8": Float8QuantizationConfig}
        if mode in ("gptq", "awq"):
            raise ValueError(f"For {mode.upper()}, you must pass a `{'GPTQConfig' if mode == 'gptq' else 'AWQConfig'}` "
                             "object in the `config` argument.")
        if mode is None:
            raise ValueError("You must provide either `mode` or `config` to `quantize`.")
        config = defaults[mode]()
    elif not isinstance(config, QuantizationConfig):
        raise ValueError(f"Argument `config` must be an instance of `QuantizationConfig`. Received: config={config} "
                         f"(of type {type(config)})")
    if mode is not None and config.mode != mode:
        raise ValueError(f"Contradictory arguments: mode='{mode}' but config.mode='{config.mode}'")
    return config


def _validate_mode(mode) -> None:
    if mode is not None and mode not in QUANTIZATION_MODES:
        raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: mode={mode}")
