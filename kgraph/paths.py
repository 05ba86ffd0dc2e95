"""Variable paths under Keras' name scopes: `with kgraph.name_scope("outer")` puts `outer/` in front of the paths
of the variables created inside it."""

from __future__ import annotations

from kgraph import context


def _stack() -> list["name_scope"]:
    return context.current().name_scopes


class name_scope:  # noqa: N801 - Keras' spelling
    """Creates a sub-namespace for variable paths, as `keras.name_scope` does.

    Args:
        name: Name of the scope; a string without `/`.
        caller: Optional object entering the scope; with `deduplicate`, re-entering the scope just entered by the
            same caller under the same name adds no level.
        deduplicate: See `caller`.
        override_parent: An absolute path that replaces the enclosing scopes' path.
    """

    def __init__(self, name: str, caller=None, deduplicate: bool = True, override_parent: str | None = None):
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"Argument `name` must be a string and cannot contain character `/`. Received: name={name}")
        self.name = name
        self.caller = caller
        self.deduplicate = deduplicate
        self.override_parent = override_parent
        self._pop_on_exit = False

    def __enter__(self) -> "name_scope":
        stack = _stack()
        if self.deduplicate and stack and self.caller is not None and self.caller is stack[-1].caller \
                and self.name == stack[-1].name:
            return self
        stack.append(self)
        self._pop_on_exit = True
        return self

    def __exit__(self, *exc) -> None:
        if self._pop_on_exit:
            _stack().pop()
            self._pop_on_exit = False


def current_path() -> str:
    """The `/`-joined names of the open scopes ('' outside any)."""
    parts: list[str] = []
    for entry in _stack():
        if entry.override_parent is not None:
            parts = [p for p in entry.override_parent.split("/") if p]
        parts.append(entry.name)
    return "/".join(parts)


def scoped(path: str) -> str:
    """`path` under the open name scopes."""
    parent = current_path()
    return f"{parent}/{path}" if parent else path
