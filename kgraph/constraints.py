"""Weight constraints: projections applied to a variable after each optimizer step, as Keras applies them.

A layer's `kernel_constraint=...` is stored on the weight (`variable.constraint`); the optimizer's step
replaces the updated value by `constraint(value)` inside the compiled train step.
"""

from __future__ import annotations

from typing import Any

from kgraph import config, ops
from kgraph.identifiers import Identifiers
from kgraph.losses.loss import to_snake_case


class Constraint:
    """Base class: `__call__(w)` returns the projected weight (the identity here)."""

    def __call__(self, w):
        return w

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Constraint":
        return cls(**config)


def _norms(w, axis):
    return ops.sqrt(ops.sum(ops.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Rescales each slice along `axis` whose L2 norm exceeds `max_value` down to it.

    Args:
        max_value: the largest norm allowed.
        axis: the axis (or axes) the norms are taken over; 0 for a Dense kernel's columns.
    """

    def __init__(self, max_value: float = 2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        norms = _norms(w, self.axis)
        desired = ops.clip(norms, 0, self.max_value)
        return ops.multiply(ops.cast(w, norms.dtype), ops.divide(desired, ops.add(norms, config.epsilon())))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to zero."""

    def __call__(self, w):
        return ops.maximum(ops.convert_to_tensor(w), 0)


class UnitNorm(Constraint):
    """Rescales each slice along `axis` to unit L2 norm.

    Args:
        axis: the axis (or axes) the norms are taken over.
    """

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        norms = _norms(w, self.axis)
        return ops.divide(ops.cast(w, norms.dtype), ops.add(norms, config.epsilon()))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves each slice's L2 norm towards `[min_value, max_value]`, by the fraction `rate` per step.

    Args:
        min_value, max_value: the norm's bounds.
        rate: 1.0 enforces the bounds at once; less moves there gradually.
        axis: the axis (or axes) the norms are taken over.
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        norms = _norms(w, self.axis)
        desired = ops.add(ops.multiply(self.rate, ops.clip(norms, self.min_value, self.max_value)),
                          ops.multiply(1 - self.rate, norms))
        return ops.multiply(ops.cast(w, norms.dtype), ops.divide(desired, ops.add(norms, config.epsilon())))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_CLASSES = (Constraint, MaxNorm, NonNeg, UnitNorm, MinMaxNorm)
_IDENTIFIERS = Identifiers("constraint", "keras.constraints", Constraint,
                           classes={cls.__name__: cls for cls in _CLASSES},
                           functions={},
                           instance_names={to_snake_case(cls.__name__): cls for cls in _CLASSES[1:]})


def serialize(constraint: Constraint | None) -> dict[str, Any] | None:
    """A Keras-format config of `constraint` (None stays None)."""
    return None if constraint is None else _IDENTIFIERS.serialize(constraint)


def deserialize(config: dict[str, Any] | str, custom_objects: dict[str, Any] | None = None) -> Constraint:
    """The constraint `serialize` (or `keras.constraints.serialize`) described."""
    return _IDENTIFIERS.deserialize(config, custom_objects)


def get(identifier) -> Constraint | None:
    """A constraint from None, an instance or callable (returned as is), a name ("max_norm", "NonNeg") or a
    config dict."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")


__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "deserialize", "get", "max_norm",
           "min_max_norm", "non_neg", "serialize", "unit_norm"]
