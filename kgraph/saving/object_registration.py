"""The custom objects a config may name: a global registry, `CustomObjectScope`s and safe mode.

`@register_keras_serializable(package, name)` records a class or function under "package>name", the
`registered_name` Keras writes into configs. `CustomObjectScope({...})` adds names for the duration of a
`with` block. Loading looks names up in the `custom_objects=` argument first, then the innermost scope
outward, then the registry.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any, Callable

from kgraph import config

_local = threading.local()

# "package>name" -> object. `get_custom_objects()` returns this dict itself, so users may add entries.
_GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}
_GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}
_global_safe_mode = {"value": True}
# kgraph's own classes, registered by the packages that define them ("kgraph>Name" -> class), and Keras' public
# namespaces ("layers" -> a function returning the kgraph module with those names): saving looks classes up
# here and never imports the packages above it.
_BUILTIN_OBJECTS: dict[str, Any] = {}
_NAMESPACES: dict[str, Callable[[], Any]] = {}


def register_builtin(cls) -> None:
    """Records one of kgraph's own classes under "kgraph>Name", so configs naming it load."""
    _BUILTIN_OBJECTS[f"kgraph>{cls.__name__}"] = cls


def get_builtin(name: str | None):
    """The kgraph class registered under `name` ("kgraph>Name" or "Name"), or None."""
    if not isinstance(name, str):
        return None
    return _BUILTIN_OBJECTS.get(name if name.startswith("kgraph>") else f"kgraph>{name}")


def register_namespace(keras_name: str, loader: Callable[[], Any]) -> None:
    """Makes `loader()` (a kgraph module) the holder of what Keras' public namespace `keras_name` holds."""
    _NAMESPACES[keras_name] = loader


def keras_namespace(keras_name: str):
    """The kgraph module registered for Keras' namespace `keras_name` ("layers", "losses", …), or None."""
    loader = _NAMESPACES.get(keras_name)
    return loader() if loader is not None else None


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Decorator recording a class or function under "package>name" so configs that name it load.

    Args:
        package: the prefix of the registered name; keeps names from different libraries apart.
        name: the name within the package (default: the object's `__name__`).
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: `package` must be a string without '>', got {package!r}")

    def decorator(obj):
        registered = f"{package}>{name or getattr(obj, '__name__', None)}"
        if registered.endswith(">None"):
            raise ValueError(f"register_keras_serializable: cannot find a name for {obj!r}; pass `name=`")
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: class {obj.__name__} must implement `get_config()` "
                             "so that it can be saved")
        _GLOBAL_CUSTOM_OBJECTS[registered] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = registered
        return obj

    return decorator


register_serializable = register_keras_serializable


def get_registered_name(obj) -> str:
    """The name `obj` is registered under ("package>name"), or its `__name__` when it is not registered."""
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", type(obj).__name__))


def is_registered(obj) -> bool:
    try:
        return obj in _GLOBAL_CUSTOM_NAMES
    except TypeError:  # unhashable
        return False


def get_custom_objects() -> dict[str, Any]:
    """The global registry (registered name -> object); entries added to it are found when loading."""
    return _GLOBAL_CUSTOM_OBJECTS


def _scopes() -> list[dict]:
    stack = getattr(_local, "scopes", None)
    if stack is None:
        stack = _local.scopes = []
    return stack


class CustomObjectScope:
    """`with CustomObjectScope({"MyLayer": MyLayer}):` makes those names resolvable while loading.

    Args:
        *custom_objects: dicts of name -> class or function; later ones win.
    """

    def __init__(self, *custom_objects: dict | None):
        merged: dict[str, Any] = {}
        for objects in custom_objects:
            if objects is None:
                continue
            if not isinstance(objects, dict):
                raise TypeError(f"CustomObjectScope takes dicts of name -> object, got {type(objects).__name__}")
            merged.update(objects)
        self.custom_objects = merged

    def __enter__(self) -> "CustomObjectScope":
        _scopes().append(self.custom_objects)
        return self

    def __exit__(self, *exc) -> None:
        _scopes().pop()


custom_object_scope = CustomObjectScope


def get_registered_object(name: str, custom_objects: dict | None = None, module_objects: dict | None = None):
    """The object `name` refers to: from `custom_objects`, the active scopes (innermost first), the registry,
    then `module_objects`; None when no one knows it."""
    if not isinstance(name, str):
        return None
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    for scope in reversed(_scopes()):
        if name in scope:
            return scope[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def active_custom_objects(custom_objects: dict | None = None) -> dict[str, Any]:
    """Every name visible now: registry, then scopes outward-in, then `custom_objects` (later wins)."""
    merged = dict(_GLOBAL_CUSTOM_OBJECTS)
    for scope in _scopes():
        merged.update(scope)
    merged.update(custom_objects or {})
    return merged


class SafeModeScope:
    """Sets safe mode (refuse Python bytecode in configs) for nested deserialization calls."""

    def __init__(self, safe_mode: bool | None = True):
        self.safe_mode = safe_mode

    def __enter__(self) -> "SafeModeScope":
        self._previous = getattr(_local, "safe_mode", None)
        if self.safe_mode is not None:
            _local.safe_mode = bool(self.safe_mode)
        return self

    def __exit__(self, *exc) -> None:
        _local.safe_mode = self._previous


def in_safe_mode() -> bool | None:
    """The safe mode of the innermost `SafeModeScope`, else False after `enable_unsafe_deserialization()`,
    else None (meaning: use the argument's default)."""
    scoped = getattr(_local, "safe_mode", None)
    if scoped is not None:
        return scoped
    return None if _global_safe_mode["value"] and not config.is_unsafe_deserialization_enabled() else False


def enable_unsafe_deserialization() -> None:
    """Allows loading Python bytecode (lambdas) from configs everywhere in this process. Only for trusted files."""
    _global_safe_mode["value"] = False
