"""MultiOptimizer and OptimizerMap: each variable is trained by the optimizer its path maps to, as in Keras 3."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any, Callable

import jax
import jax.numpy as jnp

from kgraph.optimizers.optimizer import Optimizer


def _serialize(optimizer: Optimizer) -> dict[str, Any]:
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def _optimizer_classes(base: type = Optimizer) -> dict[str, type]:
    classes = {}
    for cls in base.__subclasses__():
        classes[cls.__name__] = cls
        classes.update(_optimizer_classes(cls))
    return classes


def _deserialize(config) -> Any:
    """A nested optimizer or OptimizerMap from its serialized form (kgraph's or Keras')."""
    if isinstance(config, (Optimizer, OptimizerMap)):
        return config
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Expected a serialized optimizer or OptimizerMap. Received: {config!r}")
    name = config["class_name"]
    if name == "OptimizerMap":
        return OptimizerMap.from_config(config["config"])
    cls = _optimizer_classes().get(name)
    if cls is None:
        raise ValueError(f"Could not interpret optimizer identifier: {name!r} in a MultiOptimizer config.")
    return cls.from_config(dict(config.get("config") or {}))


def _check_inner(optimizer, what: str) -> None:
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"{what} must be a kgraph Optimizer instance. Received: {optimizer!r}")
    if isinstance(optimizer, MultiOptimizer):
        raise ValueError("MultiOptimizer cannot be used inside an MultiOptimizer.")
    if hasattr(optimizer, "inner_optimizer"):
        raise ValueError("LossScaleOptimizer cannot be used inside an MultiOptimizer.")


class OptimizerMap(MutableMapping):
    """Maps variable paths (exact, else a `re.fullmatch` pattern) to optimizers.

    Args:
        default_optimizer: The optimizer of the variables no key matches.
        optimizer_map: Optional `{path or pattern: optimizer}`.
    """

    def __init__(self, default_optimizer: Optimizer, optimizer_map: dict | None = None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(f"default_optimizer must be a Keras Optimizer instance. Received: {default_optimizer}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dictionary. Received: {optimizer_map}")
        self._default_optimizer = default_optimizer
        self._optimizer_map = dict(optimizer_map or {})

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matching = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matching) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key}.")
        return self._optimizer_map[matching[0]] if matching else self._default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if key in self._optimizer_map:
            raise ValueError(f"'{key}' already exists in the OptimizerMap with value {self._optimizer_map[key]}. "
                             "Please make sure to not use duplicated keys.")
        if not isinstance(key, str):
            raise ValueError(f"key must be a string. Received: {key}")
        _check_inner(optimizer, "optimizer")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable) -> Optimizer:
        return self[variable.path]

    def get_config(self) -> dict[str, Any]:
        return {"default_optimizer": _serialize(self._default_optimizer),
                "optimizer_map": {key: _serialize(opt) for key, opt in self._optimizer_map.items()}}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> OptimizerMap:
        return cls(_deserialize(config["default_optimizer"]),
                   {key: _deserialize(value) for key, value in (config.get("optimizer_map") or {}).items()})


class MultiOptimizer(Optimizer):
    """Delegates each variable to the optimizer `optimizer_map(variable)` returns, as `keras.optimizers.MultiOptimizer`.

    The routing reads the variables' paths, so the optimizer is built from Variables (by `fit`, or
    `build(model.trainable_variables)`). Its state holds its own step counter and learning-rate slot (unused, as
    in Keras), then each inner optimizer's state; the learning rates live on the inner optimizers (`optimizers`).

    Args:
        optimizer_map: An `OptimizerMap`, or a callable `variable -> optimizer`.
        loss_scale_factor: Keras' loss scale factor; only `None` is supported.
        name: String. Defaults to `multi_optimizer`.
    """

    def __init__(self, optimizer_map: OptimizerMap | Callable, loss_scale_factor: float | None = None,
                 name: str | None = None):
        if loss_scale_factor is not None:
            raise ValueError(f"MultiOptimizer supports loss_scale_factor=None only. Received: {loss_scale_factor!r}")
        super().__init__(learning_rate=0.0, name=name)
        if not callable(optimizer_map):
            raise TypeError(f"optimizer_map must be an OptimizerMap or a callable. Received: {optimizer_map!r}")
        self._optimizer_map = optimizer_map
        self._inner_optimizers: list[Optimizer] = []
        for opt in [*getattr(optimizer_map, "values", lambda: [])(),
                    getattr(optimizer_map, "default_optimizer", None)]:
            if opt is not None and not any(opt is known for known in self._inner_optimizers):
                self._inner_optimizers.append(opt)
        self._groups: list[int] | None = None
        self._own = None

    @property
    def optimizers(self) -> list[Optimizer]:
        """The inner optimizers, in the order of the state."""
        return self._inner_optimizers

    @property
    def learning_rate(self):
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer. "
                             "Access the learning rate on the individual sub-optimizers instead.")

    @learning_rate.setter
    def learning_rate(self, value):
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer. "
                             "Set the learning rate on the individual sub-optimizers instead.")

    @property
    def state(self):
        """Its own step counter and learning-rate slot, then each inner optimizer's state (`{}` for one that trains
        nothing), saved flat in this order as Keras saves a MultiOptimizer's variables."""
        if self._own is None:
            return None
        return {**self._own, "slots": [{} if opt.state is None else opt.state for opt in self._inner_optimizers]}

    @state.setter
    def state(self, value) -> None:
        if value is None:
            self._own = None
            return
        self._own = {"iterations": value["iterations"], "learning_rate": value["learning_rate"]}
        for opt, inner in zip(self._inner_optimizers, value["slots"]):
            opt.state = inner if inner else None

    def track_constraints(self, variables: list) -> None:
        """Routes the variables (by path) to the inner optimizers, which track their constraints."""
        self._trainable_variables = list(variables)
        self._groups = []
        for variable in variables:
            opt = self._optimizer_map(variable)
            _check_inner(opt, f"The optimizer for variable {getattr(variable, 'path', variable)!r}")
            index = next((i for i, known in enumerate(self._inner_optimizers) if known is opt), None)
            if index is None:
                self._inner_optimizers.append(opt)
                index = len(self._inner_optimizers) - 1
            self._groups.append(index)
        for index, opt in enumerate(self._inner_optimizers):
            opt.track_constraints([v for v, g in zip(variables, self._groups) if g == index])

    def build(self, params: list) -> None:
        if not all(hasattr(p, "path") for p in params):
            raise ValueError("MultiOptimizer routes variables by their paths: build it on Variables "
                             "(e.g. `model.trainable_variables`), not on arrays.")
        self.track_constraints(params)
        self.state = self.init([p.value for p in params])

    def _split(self, items: list) -> list[list]:
        if self._groups is None or len(self._groups) != len(items):
            raise ValueError(f"MultiOptimizer was routed for {0 if self._groups is None else len(self._groups)} "
                             f"variables but received {len(items)}; build it on the variables it trains "
                             "(`fit` does, or `build(model.trainable_variables)`).")
        return [[x for x, g in zip(items, self._groups) if g == index] for index in range(len(self._inner_optimizers))]

    def init(self, params: list[jax.Array]) -> dict[str, Any]:
        groups = self._split(list(params))
        return {"iterations": jnp.zeros((), jnp.int32), "learning_rate": jnp.zeros((), jnp.float32),
                "slots": [opt.init(group) if group else {} for opt, group in zip(self._inner_optimizers, groups)]}

    def stateless_apply(self, state, grads, params):
        grads, params = list(grads), list(params)
        if len(grads) != len(params):
            raise ValueError(f"Expected one gradient per variable. Received {len(grads)} gradients "
                             f"for {len(params)} variables.")
        new_params: list = [None] * len(params)
        positions = self._split(list(range(len(params))))
        inner_states = []
        for opt, inner, where in zip(self._inner_optimizers, state["slots"], positions):
            if not where:
                inner_states.append(inner)
                continue
            updated, inner = opt.stateless_apply(inner, [grads[i] for i in where], [params[i] for i in where])
            inner_states.append(inner)
            for i, value in zip(where, updated):
                new_params[i] = value
        return new_params, {**state, "iterations": state["iterations"] + 1, "slots": inner_states}

    def finalize_variable_values(self, var_list: list) -> None:
        for opt, variables in zip(self._inner_optimizers, self._split(list(var_list))):
            if variables:
                opt.finalize_variable_values(variables)

    def get_config(self) -> dict[str, Any]:
        if not isinstance(self._optimizer_map, OptimizerMap):
            raise ValueError("A MultiOptimizer built on a callable cannot be serialized; use an OptimizerMap.")
        return {"optimizer_map": {"module": "keras.optimizers", "class_name": "OptimizerMap",
                                  "config": self._optimizer_map.get_config(), "registered_name": None},
                "loss_scale_factor": None, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> MultiOptimizer:
        return cls(**{**config, "optimizer_map": _deserialize(config["optimizer_map"])})

    def __repr__(self) -> str:
        return f"<MultiOptimizer name={self.name!r} optimizers={[opt.name for opt in self._inner_optimizers]}>"
