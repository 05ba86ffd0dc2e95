"""The op registry: each op is declared once with its attributes and its shape/dtype rule."""

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
    """An op's declaration: `infer(input_types, **attrs)` returns its output types."""

    name: str
    infer: InferFn
    attrs: dict[str, Any] = field(default_factory=dict)
    num_inputs: int | None = None
    traits: frozenset[str] = frozenset()
    doc: str = ""
    family: str = ""

    def has(self, trait: str) -> bool:
        """Whether the op declares `trait` (one of `kgraph.ir.traits`)."""
        return trait in self.traits

    @property
    def random(self) -> bool:
        return _traits.RANDOM in self.traits

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
             traits: frozenset[str] | set[str] | tuple[str, ...] = (), random: bool = False, doc: str = "") -> OpDef:
    """Declares op `name`. Raises if it is declared twice, so each op has exactly one entry.

    `traits` are names from `kgraph.ir.traits`; `random=True` is shorthand for the RANDOM trait.

    The op's family is the declaring module's name (`kgraph.ir.ops.convolution` → "convolution").
    """
    if name in _REGISTRY:
        raise ValueError(f"op {name!r} is already registered")
    traits = frozenset(traits) | ({_traits.RANDOM} if random else set())
    unknown = traits - _traits.ALL
    if unknown:
        raise ValueError(f"op {name!r} declares unknown traits {sorted(unknown)}; known: {sorted(_traits.ALL)}")
    family = sys._getframe(1).f_globals.get("__name__", "").rsplit(".", 1)[-1]
    op = OpDef(name, infer, dict(attrs or {}), num_inputs, traits, doc, family)
    _REGISTRY[name] = op
    return op


def get_op(name: str) -> OpDef:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r}; registered ops: {', '.join(sorted(_REGISTRY))}") from None


def all_ops() -> dict[str, OpDef]:
    return dict(_REGISTRY)
