"""DTypePolicy: the compute and variable dtypes of a layer, and the global default policy (Keras 3's rules).

This module imports nothing of kgraph but the IR's dtype names, so `kgraph.config` can re-export the global
policy functions; `kgraph.config` tells it where the default float type (`floatx`) comes from.
"""

from __future__ import annotations

from typing import Callable

from kgraph.ir.types import canonical_dtype

_MIXED = {"mixed_float16": ("float16", "float32"), "mixed_bfloat16": ("bfloat16", "float32")}
_floatx: Callable[[], str] = lambda: "float32"
_global: "DTypePolicy | None" = None


def use_floatx(source: Callable[[], str]) -> None:
    """Sets where the default policy reads the default float type (`kgraph.config.floatx`)."""
    global _floatx
    _floatx = source


class DTypePolicy:
    """A dtype policy for a layer: the dtype its variables are created in and the dtype it computes in.

    Args:
        name: a dtype name such as "float32" (variables and computations in that dtype), or "mixed_float16" /
            "mixed_bfloat16" (computations in float16 / bfloat16, variables in float32). Defaults to the
            global policy's name (`kgraph.config.dtype_policy()`).
    """

    def __init__(self, name: str | None = None):
        if name is None:
            name = dtype_policy().name
        self._name = name
        self._compute_dtype, self._variable_dtype = self._parse_name(name)
        self._quantization_mode = None

    @staticmethod
    def _parse_name(name) -> tuple[str, str]:
        if not isinstance(name, str):
            raise TypeError(f"'name' must be a string, such as 'mixed_float16'. Received: name={name} "
                            f"(of type {type(name)})")
        if name in _MIXED:
            return _MIXED[name]
        try:
            dtype = canonical_dtype(name)
        except TypeError:
            raise ValueError(f"Cannot convert '{name}' to a mixed precision DTypePolicy. Valid policies include "
                             "'mixed_float16', 'mixed_bfloat16', and the name of any float dtype such as "
                             "'float32'.") from None
        return dtype, dtype

    @property
    def name(self) -> str:
        """The policy's name, e.g. "mixed_float16"."""
        return self._name

    @property
    def compute_dtype(self) -> str:
        """The dtype layers compute in and output: their floating inputs and variables are cast to it."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype layers create their variables in (float32 for the mixed policies)."""
        return self._variable_dtype

    @property
    def quantization_mode(self) -> str | None:
        """The quantization mode ("int8", …) of a quantized policy; None for a float policy."""
        return self._quantization_mode

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "DTypePolicy":
        return cls(**config)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'

    def __eq__(self, other) -> bool:
        return type(other) in (DTypePolicy, FloatDTypePolicy) and self._name == other._name

    def __hash__(self) -> int:
        return hash(self._name)


class FloatDTypePolicy(DTypePolicy):
    """An alias of `DTypePolicy`, as in Keras."""


def set_dtype_policy(policy: "DTypePolicy | str") -> None:
    """Sets the default dtype policy of layers created from now on.

    Args:
        policy: a policy name ("mixed_float16", "mixed_bfloat16", "float32", …) or a `DTypePolicy`.
    """
    global _global
    if isinstance(policy, str):
        policy = DTypePolicy(policy)
    if not isinstance(policy, DTypePolicy):
        raise ValueError("Invalid `policy` argument. Expected the string name of a policy (such as "
                         f"'mixed_float16') or a `DTypePolicy` instance. Received: policy={policy} "
                         f"(of type {type(policy)})")
    _global = policy


def dtype_policy() -> DTypePolicy:
    """The default dtype policy: the one `set_dtype_policy` set, else a policy of `floatx()` (then kept)."""
    if _global is None:
        set_dtype_policy(DTypePolicy(_floatx()))
    return _global

