"""DTypePolicyMap: policies by layer path (Keras 3's), so one `dtype=` can give each sublayer its own policy —
how quantized models whose sublayers differ are configured."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Callable

from kgraph.dtype_policies.dtype_policy import DTypePolicy


class DTypePolicyMap(DTypePolicy, MutableMapping):
    """A dict from layer paths (or regular expressions over them) to `DTypePolicy`s, with a default policy.

    A layer given `dtype=policy_map` looks its policy up by its `path` ("encoder/dense"): an exact key first, else
    the one key that `re.fullmatch`es the path, else `default_policy`.

    Args:
        default_policy: the policy of paths no key matches; default `kgraph.config.dtype_policy()`.
        policy_map: an initial `{path: policy}` dict.
    """

    _resolve: Callable = None  # `kgraph.dtype_policies.get`, set by the package

    def __init__(self, default_policy=None, policy_map: dict | None = None):
        if isinstance(default_policy, DTypePolicyMap):
            raise ValueError("`default_policy` cannot be a `DTypePolicyMap`.")
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError(f"If specified, `policy_map` must be a dict. Received: policy_map={policy_map} of type "
                            f"{type(policy_map)}")
        self._default_policy_arg = default_policy
        self._default_policy = DTypePolicyMap._resolve(default_policy)
        self._policy_map = {key: DTypePolicyMap._resolve(value) for key, value in (policy_map or {}).items()}
        self._quantization_mode = None

    @property
    def name(self) -> str:
        return f"map_{self.default_policy._name}"

    @property
    def default_policy(self) -> DTypePolicy:
        return DTypePolicyMap._resolve(self._default_policy)

    @property
    def variable_dtype(self) -> str:
        return self.default_policy.variable_dtype

    @property
    def compute_dtype(self) -> str:
        return self.default_policy.compute_dtype

    @property
    def quantization_mode(self):
        return self.default_policy.quantization_mode

    def __getitem__(self, key: str) -> DTypePolicy:
        if key in self._policy_map:
            return self._policy_map[key]
        matching = [pattern for pattern in self._policy_map if re.fullmatch(pattern, key)]
        if len(matching) > 1:
            raise ValueError(f"Path '{key}' matches multiple dtype policy specification keys: {matching}. Please make "
                             "sure each path only matches at most one dtype policy specification key in the "
                             "DTypePolicyMap.")
        return self._policy_map[matching[0]] if matching else self.default_policy

    def __setitem__(self, key: str, policy) -> None:
        if key in self._policy_map:
            raise ValueError(f"{key} already exist in the DTypePolicyMap with value {self._policy_map[key]}. Please "
                             "make sure to not use duplicated keys.")
        try:
            policy = DTypePolicyMap._resolve(policy)
        except Exception:
            raise ValueError("Cannot interpret the assigned value by `keras.dtype_policies.get`. "
                             f"Received: {policy} of type {type(policy)}") from None
        self._policy_map[key] = policy

    def __delitem__(self, key: str):
        return self._policy_map.pop(key)

    def __contains__(self, key) -> bool:
        return key in self._policy_map

    def __len__(self) -> int:
        return len(self._policy_map)

    def __iter__(self):
        return iter(self._policy_map)

    def __eq__(self, other) -> bool:
        return (isinstance(other, DTypePolicyMap) and self.default_policy == other.default_policy
                and self._policy_map == other._policy_map)

    __hash__ = object.__hash__

    def get_config(self) -> dict:
        """Keras' config: without an explicit default policy, the mapped policies leave their source dtype out, so
        they follow the global policy when loaded."""
        policy_map = {}
        for key, policy in self._policy_map.items():
            config = serialize_policy(policy)
            if self._default_policy_arg is None:
                inner = dict(config["config"])
                inner["source_name" if "source_name" in inner else "name"] = None
                config = {**config, "config": inner}
            policy_map[key] = config
        default = self._default_policy_arg
        return {"default_policy": serialize_policy(default) if isinstance(default, DTypePolicy) else default,
                "policy_map": policy_map}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "DTypePolicyMap":
        config = dict(config)
        config["policy_map"] = {key: DTypePolicyMap._resolve(value)
                                for key, value in (config.get("policy_map") or {}).items()}
        return cls(**config)

    def __repr__(self) -> str:
        mapping = [(k, v.name) for k, v in self._policy_map.items()]
        return (f"<DTypePolicyMap at {hex(id(self))} default_policy={self._default_policy.name}, "
                f"mapping={mapping}>")


def serialize_policy(policy: DTypePolicy) -> dict:
    """The `{"module", "class_name", "config", "registered_name"}` dict Keras writes for `policy`."""
    module = "keras" if type(policy).__name__ in ("DTypePolicy", "FloatDTypePolicy") else "keras.dtype_policies"
    return {"module": module, "class_name": type(policy).__name__, "config": policy.get_config(),
            "registered_name": None}
