"""Keras 3 optimizers compiled to pure optax updates."""

from __future__ import annotations

from typing import Any

from kgraph.optimizers.adam import Adam
from kgraph.optimizers.adaptive import Adadelta, Adagrad, Adamax, Nadam
from kgraph.optimizers.adamw import AdamW
from kgraph.optimizers.ftrl_adafactor import Adafactor, Ftrl
from kgraph.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap
from kgraph.optimizers.muon import Muon
from kgraph.optimizers.loss_scale_optimizer import LossScaleOptimizer, register_inner
from kgraph.optimizers.optimizer import Optimizer
from kgraph.optimizers.rmsprop import RMSprop
from kgraph.optimizers.schedule_free import ScheduleFreeAdamW
from kgraph.optimizers.sgd import SGD
from kgraph.optimizers.sign_and_trust import Lamb, Lion
from kgraph.optimizers import schedules

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adadelta", "Adafactor", "Adagrad", "Adamax", "Ftrl",
           "Lamb", "Lion", "LossScaleOptimizer", "MultiOptimizer", "Muon", "Nadam", "OptimizerMap", "ScheduleFreeAdamW",
           "get", "serialize", "deserialize", "schedules"]

# Keras' identifiers: lower-cased class names.
_BY_NAME: dict[str, type[Optimizer]] = {
    cls.__name__.lower(): cls
    for cls in (Adam, AdamW, RMSprop, SGD, Adadelta, Adafactor, Adagrad, Adamax, Ftrl, Lamb, Lion, MultiOptimizer, Muon,
                Nadam, ScheduleFreeAdamW)
}
register_inner(_BY_NAME)


def _lookup(class_name: str, wrappers: bool = False) -> type[Optimizer]:
    """Return the optimizer class for a case-insensitive Keras identifier (`wrappers`: also the optimizers that
    wrap another, which only a config can name)."""
    cls = _BY_NAME.get(class_name.lower()) or (LossScaleOptimizer if wrappers and
                                                 class_name.lower() == "lossscaleoptimizer" else None)
    if cls is None:
        raise ValueError(
            f"Could not interpret optimizer identifier: {class_name!r}. "
            f"Expected one of: {', '.join(sorted(_BY_NAME))}."
        )
    return cls


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Return `{"class_name": ..., "config": ...}`, a config Keras' `deserialize` also reads."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"Expected a kgraph Optimizer. Received: {optimizer!r} of type {type(optimizer).__name__}"
        )
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict[str, Any]) -> Optimizer:
    """Create an optimizer from `serialize`'s output or from `keras.optimizers.serialize`'s."""
    if not isinstance(config, dict):
        raise TypeError(
            f"Expected an optimizer config dict. Received: {config!r} of type {type(config).__name__}"
        )
    if not isinstance(config.get("class_name"), str):
        raise ValueError(f"An optimizer config needs a string 'class_name'. Received: {config!r}")
    return _lookup(config["class_name"], wrappers=True).from_config(dict(config.get("config") or {}))


def get(identifier: Optimizer | str | dict[str, Any] | None) -> Optimizer | None:
    """Return an optimizer from an instance (as is), a Keras name like `"adam"`, or a config dict.

    `None` gives `None`, as in Keras.
    """
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(
        f"Could not interpret optimizer identifier: {identifier!r} of type {type(identifier).__name__}. "
        "Expected an Optimizer, a string or a config dict."
    )
