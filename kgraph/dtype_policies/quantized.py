"""Quantized dtype policies (Keras 3's names and configs): a quantization mode over a source float policy, named
"<mode>_from_<source>" ("int8_from_float32", "int4/128_from_mixed_bfloat16", "gptq/4/128_from_float32")."""

from __future__ import annotations

from kgraph.dtype_policies.dtype_policy import DTypePolicy, dtype_policy

QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")


class QuantizedDTypePolicy(DTypePolicy):
    """A quantized policy: weights stored quantized in `mode`, computations in the source policy's dtype.

    Args:
        mode: one of "int8", "float8", "int4", "gptq", "awq".
        source_name: the float policy it quantizes ("float32", "mixed_bfloat16", …); default the global policy.
    """

    def __init__(self, mode: str, source_name: str | None = None):
        if source_name is None:
            source_name = dtype_policy().name
        self._compute_dtype, self._variable_dtype = self._parse_name(source_name)
        _check_mode(mode, self._compute_dtype)
        self._name = f"{mode}_from_{source_name}"
        self._source_name = source_name
        self._quantization_mode = mode

    def get_config(self) -> dict:
        return {"mode": self._quantization_mode, "source_name": self._source_name}

    def _same(self, other) -> bool:
        return (type(other) is type(self) and self._name == other._name
                and self._quantization_mode == other._quantization_mode and self._source_name == other._source_name)

    def __eq__(self, other) -> bool:
        return self._same(other)

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<{type(self).__name__} "{self._name}">'


def _check_mode(mode, compute_dtype) -> None:
    if mode not in QUANTIZATION_MODES:
        raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: mode={mode}")
    if compute_dtype == "float16" and mode == "int8":
        raise ValueError(f"Quantization mode='{mode}' doesn't work well with compute_dtype='float16'.")


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """The float8 training policy, with the length of its amax histories.

    Args:
        mode: "float8".
        source_name: the source float policy's name.
        amax_history_length: how many steps of absolute maxima the scales are computed from.
    """

    default_amax_history_length = 1024

    def __init__(self, mode: str, source_name: str | None = None, amax_history_length: int = 1024):
        super().__init__(mode=mode, source_name=source_name)
        if not isinstance(amax_history_length, int):
            raise TypeError(f"`amax_history_length` must be an integer. Received: "
                            f"amax_history_length={amax_history_length}")
        self._amax_history_length = amax_history_length

    @property
    def amax_history_length(self) -> int:
        return self._amax_history_length

    def __eq__(self, other) -> bool:
        return self._same(other) and self._amax_history_length == other._amax_history_length

    __hash__ = QuantizedDTypePolicy.__hash__

    def get_config(self) -> dict:
        return {**super().get_config(), "amax_history_length": self.amax_history_length}


def _split_mode(mode, parts_expected: int, policy: str, fields: str) -> list[int]:
    parts = mode.split("/") if isinstance(mode, str) else []
    base = policy.split("DTypePolicy")[0].lower()
    expected = f"'{base}/{fields}'"
    if len(parts) != parts_expected or parts[0] != base:
        raise ValueError(f"Invalid mode for {policy}. Expected format {expected}, but got '{mode}'.")
    try:
        return [int(p) for p in parts[1:]]
    except ValueError:
        raise ValueError(f"Invalid mode for {policy}. {fields} must be integers. Expected format {expected}, but got "
                         f"'{mode}'.") from None


def _check_group(value: int, what: str, mode: str) -> None:
    if value < -1 or value == 0:
        raise ValueError(f"Invalid {what} in mode. Supported values are -1 or a positive integer, but got {value} "
                         f"from '{mode}'.")


class Int4DTypePolicy(QuantizedDTypePolicy):
    """The int4 policy with its block size, mode "int4/<block_size>" (-1: per channel).

    Args:
        mode: e.g. "int4/128".
        source_name: the source float policy's name.
    """

    def __init__(self, mode: str, source_name: str | None = None):
        (block_size,) = _split_mode(mode, 2, "Int4DTypePolicy", "<block_size>")
        _check_group(block_size, "block_size", mode)
        super().__init__(mode="int4", source_name=source_name)
        self._name = f"{mode}_from_{source_name}"
        self.mode = "int4"
        self.block_size = block_size

    def __eq__(self, other) -> bool:
        return self._same(other) and self.block_size == other.block_size

    __hash__ = QuantizedDTypePolicy.__hash__

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": f"int4/{self.block_size}"}


class _BitsAndGroupPolicy(QuantizedDTypePolicy):
    """A policy whose mode is "<method>/<weight_bits>/<group_size>" (GPTQ, AWQ)."""

    _method = ""
    _allowed_bits: tuple[int, ...] = ()

    def __init__(self, mode: str, source_name: str | None = None):
        weight_bits, group_size = _split_mode(mode, 3, type(self).__name__, "<weight_bits>/<group_size>")
        if weight_bits not in self._allowed_bits:
            raise ValueError(f"Invalid weight_bits in mode. Supported values are {list(self._allowed_bits)}, but got "
                             f"{weight_bits} from '{mode}'.")
        _check_group(group_size, "group_size", mode)
        super().__init__(mode=self._method, source_name=source_name)
        self._name = f"{mode}_from_{source_name}"
        self.mode = self._method
        self.weight_bits = weight_bits
        self.group_size = group_size

    def __eq__(self, other) -> bool:
        return self._same(other) and (self.weight_bits, self.group_size) == (other.weight_bits, other.group_size)

    __hash__ = QuantizedDTypePolicy.__hash__

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": f"{self.mode}/{self.weight_bits}/{self.group_size}"}


class GPTQDTypePolicy(_BitsAndGroupPolicy):
    """The GPTQ policy, mode "gptq/<weight_bits>/<group_size>" (bits 2, 3, 4 or 8).

    Args:
        mode: e.g. "gptq/4/128".
        source_name: the source float policy's name.
    """

    _method = "gptq"
    _allowed_bits = (2, 3, 4, 8)


class AWQDTypePolicy(_BitsAndGroupPolicy):
    """The AWQ policy, mode "awq/4/<group_size>".

    Args:
        mode: e.g. "awq/4/128".
        source_name: the source float policy's name.
    """

    _method = "awq"
    _allowed_bits = (4,)


def quantized_policy(name: str) -> QuantizedDTypePolicy:
    """The policy a name like "int8_from_float32" or "gptq/4/128_from_bfloat16" denotes."""
    parts = name.split("_from_")
    if len(parts) != 2:
        raise ValueError("Cannot convert `policy` into a valid pair (`mode`, `source_name`) to instantiate "
                         f"`QuantizedDTypePolicy`. Received: policy={name}")
    mode, source_name = parts
    if mode.startswith("int4") and "/" in mode:
        return Int4DTypePolicy(mode, source_name)
    if mode.startswith("gptq"):
        return GPTQDTypePolicy(mode, source_name)
    if mode.startswith("awq"):
        return AWQDTypePolicy(mode, source_name)
    if mode.startswith("float8"):
        return QuantizedFloat8DTypePolicy(mode, source_name)
    return QuantizedDTypePolicy(mode, source_name)
