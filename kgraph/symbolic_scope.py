"""`kgraph.SymbolicScope`: marks the block where outputs are inferred on KerasTensors, not computed.

kgraph enters it where Keras does, while a layer or an operation called on KerasTensors traces its `call` once for
the output shapes and dtypes; code that must behave differently there (skip a side effect, a host callback) asks
`in_symbolic_scope()`.
"""

from __future__ import annotations

from kgraph import context

__all__ = ["SymbolicScope", "in_symbolic_scope"]


class SymbolicScope:
    """Scope to indicate the symbolic stage (output inference on KerasTensors)."""

    def __enter__(self) -> "SymbolicScope":
        context.current().symbolic_scopes.append(self)
        return self

    def __exit__(self, *exc) -> None:
        context.current().symbolic_scopes.remove(self)


def in_symbolic_scope() -> bool:
    """Whether a `SymbolicScope` is open on this thread."""
    return bool(context.current().symbolic_scopes)


def get_symbolic_scope() -> SymbolicScope | None:
    """The innermost open `SymbolicScope`, or None."""
    scopes = context.current().symbolic_scopes
    return scopes[-1] if scopes else None
