"""The op registry: each op is declared once with its attributes, its shape/dtype rule and its traits.

Lowerings attach their rules to the declaration (`attach_rule`) or declare that a target cannot express the op
(`refuse`), so the IR can say where each op's rules live without importing any lowering: the JAX lowering attaches
under "jax", the ONNX lowering under "onnx".
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from kgraph.ir import traits as _traits
from kgraph.ir.types import TensorType

REQUIRED = object()

InferFn = Callable[..., list[TensorType]]


class ShapeError(ValueError):
    """An op was applied to inputs whose shapes or dtypes it cannot take."""


@dataclass(frozen=True)
class OpDef:
    """An op's declaration: `infer(input_types, **attrs)` returns its output types.

    `axis` names the attribute holding the one axis the op works along, `axes` the one holding a tuple of axes
    (None: all of them), `per_axis` the attributes holding one entry per input axis; passes read them together
    with the traits. `rules` maps a lowering target to the op's rule there, `refusals` a target to the reason it
    cannot express the op; both are filled by the lowerings.
    """

    name: str
    infer: InferFn
    attrs: dict[str, Any] = field(default_factory=dict)
    num_inputs: int | None = None
    traits: frozenset[str] = frozenset()
    doc: str = ""
    family: str = ""
    axis: str | None = None
    axes: str | None = None
    per_axis: tuple[str, ...] = ()
    rules: dict[str, Callable] = field(default_factory=dict, compare=False, repr=False)
    refusals: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def has(self, trait: str) -> bool:
        """Whether the op declares `trait` (one of `kgraph.ir.traits`)."""
        return trait in self.traits

    @property
    def random(self) -> bool:
        return _traits.RANDOM in self.traits

    @property
    def pure(self) -> bool:
        """Whether the op's outputs depend only on its inputs and attributes (neither random nor stateful)."""
        return not self.traits & {_traits.RANDOM, _traits.HAS_STATE}

    def rule(self, target: str) -> Callable | None:
        """The op's rule for lowering target `target` ("jax", "onnx"), or None when none is attached."""
        return self.rules.get(target)

    def refusal(self, target: str) -> str | None:
        """Why target `target` cannot express the op, or None when it does not refuse it."""
        return self.refusals.get(target)

    def rule_location(self, target: str) -> str | None:
        """Where the op's `target` rule is (`module.function`), "refused: <reason>", or None if neither."""
        rule = self.rules.get(target)
        if rule is not None:
            return f"{rule.__module__}.{rule.__qualname__}"
        if target in self.refusals:
            return f"refused: {self.refusals[target]}"
        return None

    def resolve_attrs(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(attrs) - set(self.attrs)
        if unknown:
            raise TypeError(f"op {self.name!r} got unknown attributes {sorted(unknown)}; it takes {sorted(self.attrs)}")
        resolved = {}
        for key, default in self.attrs.items():
            if key in attrs:
                resolved[key] = attrs[key]
            elif default is REQUIRED:
                raise TypeError(f"op {self.name!r} needs attribute {key!r}")
            else:
                resolved[key] = default
        return resolved

    def infer_types(self, input_types: list[TensorType], attrs: dict[str, Any]) -> list[TensorType]:
        if self.num_inputs is not None and len(input_types) != self.num_inputs:
            raise ShapeError(f"op {self.name!r} takes {self.num_inputs} inputs, got {len(input_types)}")
        return self.infer(input_types, **attrs)


_REGISTRY: dict[str, OpDef] = {}


def register(name: str, infer: InferFn, *, attrs: dict[str, Any] | None = None, num_inputs: int | None = None,
             traits: frozenset[str] | set[str] | tuple[str, ...] = (), random: bool = False, doc: str = "",
             axis: str | None = None, axes: str | None = None, per_axis: tuple[str, ...] = ()) -> OpDef:
    """Declares op `name`. Raises if it is declared twice, so each op has exactly one entry.

    Args:
        name: the op's name, as nodes spell it.
        infer: `infer(input_types, **attrs)` → output types; raises ShapeError for inputs the op cannot take.
        attrs: attribute name → default (`REQUIRED` for none).
        num_inputs: the number of inputs, None for any.
        traits: names from `kgraph.ir.traits`; `random=True` is shorthand for the RANDOM trait.
        doc: one line saying what the op computes.
        axis: the attribute holding the single axis the op works along (softmax, concatenate, argmax).
        axes: the attribute holding the axes it works along, a tuple or None for all (sum, layer_normalization).
        per_axis: the attributes holding one entry per input axis (pad's `pad_width`, slice's `starts`).

    The op's family is the declaring module's name (`kgraph.ir.ops.convolution` → "convolution").
    """
    if name in _REGISTRY:
        raise ValueError(f"op {name!r} is already registered")
    traits = frozenset(traits) | ({_traits.RANDOM} if random else set())
    unknown = traits - _traits.ALL
    if unknown:
        raise ValueError(f"op {name!r} declares unknown traits {sorted(unknown)}; known: {sorted(_traits.ALL)}")
    attrs = dict(attrs or {})
    missing = [a for a in (axis, axes, *per_axis) if a is not None and a not in attrs]
    if missing:
        raise ValueError(f"op {name!r} names axis attributes {missing} it does not take; it takes {sorted(attrs)}")
    if _traits.REDUCTION in traits and axis is None and axes is None:
        raise ValueError(f"op {name!r} is a reduction and must name its axis attribute (axis= or axes=)")
    family = sys._getframe(1).f_globals.get("__name__", "").rsplit(".", 1)[-1]
    op = OpDef(name, infer, attrs, num_inputs, traits, doc, family, axis, axes, tuple(per_axis))
    _REGISTRY[name] = op
    return op


def get_op(name: str) -> OpDef:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r}; registered ops: {', '.join(sorted(_REGISTRY))}") from None


def all_ops() -> dict[str, OpDef]:
    return dict(_REGISTRY)


def attach_rule(op: str, target: str, rule: Callable) -> None:
    """Attaches `rule` as declared op `op`'s rule for lowering target `target`; each op has one rule per target."""
    opdef = get_op(op)
    if target in opdef.rules:
        raise ValueError(f"op {op!r} already has a {target} rule")
    if target in opdef.refusals:
        raise ValueError(f"op {op!r} is refused by {target}: {opdef.refusals[target]}")
    opdef.rules[target] = rule


def refuse(op: str, target: str, reason: str) -> None:
    """Declares that lowering target `target` cannot express op `op`, and why (shown in the error a user gets)."""
    opdef = get_op(op)
    if target in opdef.rules:
        raise ValueError(f"op {op!r} already has a {target} rule and cannot also be refused")
    opdef.refusals[target] = reason
