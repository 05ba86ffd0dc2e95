"""One lookup for the names, configs and objects Keras accepts as identifiers of losses, metrics and the like.

`Identifiers` holds a namespace's classes and functions and implements Keras' `serialize`/`deserialize`
for it; each namespace's `get` adds its own rules on top (a loss name gives an instance, a metric
function is wrapped, ...).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable


class Identifiers:
    """The classes and functions of one namespace ("loss", "metric", ...), looked up by name.

    Args:
        kind: what the namespace holds, for error messages ("loss").
        module: the Keras module written into configs ("keras.losses").
        base: the namespace's base class.
        classes: class name → class.
        functions: function name (and aliases) → function.
        instance_names: further names that `get` turns into instances (e.g. "mse" → MeanSquaredError).
    """

    def __init__(self, kind: str, module: str, base: type, classes: dict[str, type],
                 functions: dict[str, Callable], instance_names: dict[str, type] | None = None) -> None:
        self.kind, self.module, self.base = kind, module, base
        self.classes, self.functions = dict(classes), dict(functions)
        self.instance_names = dict(instance_names or {})

    def unknown(self, identifier, extra: tuple[str, ...] = ()) -> ValueError:
        """The error for an identifier nothing matches, listing what would."""
        names = sorted({*self.instance_names, *self.functions, *self.classes, *extra} - {self.base.__name__})
        return ValueError(f"Could not interpret {self.kind} identifier: {identifier!r}. Expected one of: "
                          f"{', '.join(names)}, a {self.base.__name__} instance or class, a config dict, "
                          "or a function.")

    def serialize(self, obj) -> dict[str, Any]:
        """A Keras-format config: `{"module", "class_name", "config", "registered_name"}` (Keras reads it too)."""
        if isinstance(obj, self.base):
            return {"module": self.module, "class_name": type(obj).__name__, "config": obj.get_config(),
                    "registered_name": None}
        if callable(obj) and hasattr(obj, "__name__"):
            return {"module": "builtins", "class_name": "function", "config": obj.__name__,
                    "registered_name": "function"}
        raise TypeError(f"Cannot serialize {obj!r}: expected a {self.base.__name__} instance or a {self.kind} "
                        "function")

    def deserialize(self, config: dict[str, Any] | str, custom_objects: dict[str, Any] | None = None):
        """The object `serialize` described: an instance (from a config or a class name) or a function."""
        custom = dict(custom_objects or {})
        if isinstance(config, str):
            obj = (custom.get(config) or self.functions.get(config) or self.instance_names.get(config)
                   or self.classes.get(config))
            if obj is None:
                raise self.unknown(config)
            return obj() if inspect.isclass(obj) else obj
        if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
            raise ValueError(f"A {self.kind} config must be a dict with a string 'class_name'. Received: {config!r}")
        class_name, inner = config["class_name"], config.get("config")
        if class_name == "function":
            return self.deserialize(inner, custom)
        cls = custom.get(class_name) or self.classes.get(class_name)
        if cls is None:
            raise self.unknown(class_name)
        return cls.from_config(dict(inner or {}))
