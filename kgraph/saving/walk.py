"""The walk over a model's saveable objects, as Keras 3's `saving_lib` makes it.

A saveable is an object with `save_own_variables`/`load_own_variables` and `_obj_type()` (layers, models,
optimizers). From the model, the walk visits a graph model's `layers` first, then every attribute a bare
object of its kind lacks (sorted, private ones last); a saveable sits at its attribute's path, a list, tuple
or dict of them under `<attribute>/<snake_case class name>` ("dense", "dense_1", …). Each object is visited
once. Saving never imports the classes it walks: it asks the objects.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Iterator

_GRAPH_KINDS = ("Functional", "Sequential")
_EXTRA_SKIPS = {"Functional": ("operations", "_operations"), "Sequential": ("_functional", "_input_layer")}
_CHILDLESS_KINDS = ("Optimizer",)
_skipsets: dict[str, set[str]] = {}


def to_snake_case(name: str) -> str:
    """Keras' snake case ("Conv2D" -> "conv2d", "BatchNormalization" -> "batch_normalization")."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def is_saveable(obj) -> bool:
    return (not inspect.isclass(obj) and callable(getattr(obj, "save_own_variables", None))
            and callable(getattr(obj, "_obj_type", None)))


def _attr_skipset(saveable) -> set[str]:
    """Every attribute a bare object of the saveable's base class has (Keras' `get_attr_skipset`)."""
    kind = saveable._obj_type()
    if kind not in _skipsets:
        base = [cls for cls in type(saveable).__mro__ if "_obj_type" in vars(cls)][-1]
        reference = base(name="__kgraph_saving_reference__")
        _skipsets[kind] = set(dir(reference)) | set(_EXTRA_SKIPS.get(kind, ()))
    return _skipsets[kind]


def _name_key(name: str) -> str:
    return f"~{name}" if name.startswith("_") else name


def _holds_saveables(value, seen: set[int] | None = None) -> bool:
    seen = set() if seen is None else seen
    if id(value) in seen:
        return False
    seen.add(id(value))
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, (list, tuple)) and any(is_saveable(v) or _holds_saveables(v, seen) for v in value)


def children(saveable) -> Iterator[tuple[str, Any]]:
    """(attribute, saveable or container of saveables) in Keras' order."""
    kind = saveable._obj_type()
    if kind in _CHILDLESS_KINDS:
        inner = getattr(saveable, "optimizers", None)  # a MultiOptimizer's inner optimizers, which Keras walks too
        if isinstance(inner, list) and inner:
            yield "optimizers", inner
            return
        inner = getattr(saveable, "inner_optimizer", None)  # a LossScaleOptimizer's, which Keras saves too
        if is_saveable(inner):
            yield "inner_optimizer", inner
        return
    if kind in _GRAPH_KINDS:
        yield "layers", saveable._saved_layers
    skipped = _attr_skipset(saveable)
    for name in sorted(dir(saveable), key=_name_key):
        if name.startswith("__") or name in skipped:
            continue
        try:
            value = getattr(saveable, name)
        except Exception:  # a property that cannot answer now (Keras' walk skips those too)
            continue
        if is_saveable(value) or _holds_saveables(value):
            yield name, value


def _unique(name: str, used: dict[str, int]) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def saveables(model) -> list[tuple[str, Any]]:
    """(path, object) for the model and every saveable under it, in Keras' walk order."""
    result: list[tuple[str, Any]] = []
    visited: set[int] = set()

    def join(path: str, name: str) -> str:
        return f"{path}/{name}" if path else name

    def walk(obj, path: str) -> None:
        if id(obj) in visited:
            return
        visited.add(id(obj))
        result.append((path, obj))
        for name, child in children(obj):
            if is_saveable(child):
                walk(child, join(path, name))
            else:
                walk_container(child, join(path, name), set())

    def walk_container(container, path: str, seen: set[int]) -> None:
        if id(container) in seen:
            return
        seen.add(id(container))
        used: dict[str, int] = {}
        for item in (container.values() if isinstance(container, dict) else container):
            if is_saveable(item):
                walk(item, join(path, _unique(to_snake_case(type(item).__name__), used)))
            elif isinstance(item, (list, tuple, dict)):
                walk_container(item, join(path, _unique("container", used)), seen)

    walk(model, "")
    return result
