"""Dtype policies: what dtype a layer computes in and stores its variables in (Keras 3's `keras.dtype_policies`).

Loads no JAX, so `kgraph.config` can re-export the global policy functions at `import kgraph`.
"""

from __future__ import annotations

from kgraph.ir.types import canonical_dtype
from kgraph.dtype_policies import dtype_policy
from kgraph.dtype_policies.dtype_policy import DTypePolicy, FloatDTypePolicy
from kgraph.dtype_policies.policy_map import DTypePolicyMap, serialize_policy
from kgraph.dtype_policies.quantized import (
    QUANTIZATION_MODES, AWQDTypePolicy, GPTQDTypePolicy, Int4DTypePolicy, QuantizedDTypePolicy,
    QuantizedFloat8DTypePolicy, quantized_policy,
)

__all__ = ["AWQDTypePolicy", "DTypePolicy", "DTypePolicyMap", "FloatDTypePolicy", "GPTQDTypePolicy",
           "Int4DTypePolicy", "QuantizedDTypePolicy", "QuantizedFloat8DTypePolicy", "get", "serialize",
           "deserialize"]

ALL_OBJECTS_DICT = {cls.__name__: cls for cls in (
    DTypePolicy, FloatDTypePolicy, DTypePolicyMap, QuantizedDTypePolicy, QuantizedFloat8DTypePolicy,
    Int4DTypePolicy, GPTQDTypePolicy, AWQDTypePolicy)}
ALL_OBJECTS_DICT["Policy"] = DTypePolicy


def serialize(policy: DTypePolicy) -> dict:
    """The policy's config as Keras writes it in `.keras` files:
    `{"module": "keras", "class_name": "DTypePolicy", "config": {"name": ...}, "registered_name": None}` (module
    "keras.dtype_policies" for the quantized policies and `DTypePolicyMap`)."""
    if not isinstance(policy, DTypePolicy):
        raise TypeError(f"`serialize` expects a DTypePolicy. Received: {policy!r} of type {type(policy).__name__}")
    return serialize_policy(policy)


def deserialize(config: dict, custom_objects: dict | None = None) -> DTypePolicy:
    """A policy from `serialize`'s output (or Keras'), a `{"class_name", "config"}` dict."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError(f"A dtype policy config must be a dict with 'class_name' and 'config'. Received: {config!r}")
    classes = {**ALL_OBJECTS_DICT, **(custom_objects or {})}
    cls = classes.get(config.get("class_name"))
    if cls is None:
        raise ValueError(f"Unknown dtype policy class {config.get('class_name')!r}; kgraph knows "
                         f"{sorted(ALL_OBJECTS_DICT)}.")
    return cls.from_config(config["config"])


def get(identifier) -> DTypePolicy:
    """A policy from None (the global policy), a name ("mixed_float16", "float32"), a config dict or a policy.

    Args:
        identifier: None, a string (a float policy's name, or a quantized one's such as "int8_from_float32"), a
            dict from `serialize`, a `DTypePolicy`, or a NumPy/JAX dtype.
    """
    if identifier is None:
        return dtype_policy.dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.startswith(QUANTIZATION_MODES):
            return quantized_policy(identifier)
        return DTypePolicy(identifier)
    try:
        return DTypePolicy(canonical_dtype(identifier))
    except (TypeError, ValueError):
        raise ValueError("Cannot interpret `dtype` argument. Expected a string or an instance of DTypePolicy. "
                         f"Received: dtype={identifier}") from None


DTypePolicyMap._resolve = staticmethod(get)
