"""Keras-format configs of kgraph objects: `serialize_keras_object` and `deserialize_keras_object`.

A serialized object is `{"module", "class_name", "config", "registered_name"}` (plus `build_config` and
`compile_config` for layers and models), exactly as Keras 3 writes it: kgraph's built-in classes are
written under Keras' public modules ("keras.layers", "keras.losses", …) so Keras reads kgraph's files, and
Keras' files name classes kgraph finds in the matching `kgraph` module.

Loading never imports a module outside `kgraph`: a class is found in `custom_objects=`, an active
`CustomObjectScope`, the registry of `@register_keras_serializable`, or kgraph's own namespaces. Python
bytecode (lambdas) is refused unless safe mode is off.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import inspect
import marshal
import re
import threading
import types
import warnings
from typing import Any

import numpy as np

from kgraph.ir.types import numpy_dtype
from kgraph.saving.object_registration import (
    CustomObjectScope, SafeModeScope, active_custom_objects, custom_object_scope, enable_unsafe_deserialization,
    get_builtin, get_custom_objects, get_registered_name, get_registered_object, in_safe_mode, is_registered,
    keras_namespace, register_keras_serializable, register_namespace, register_serializable,
)
from kgraph.saving.walk import to_snake_case
import jax
from kgraph import activations

__all__ = [
    "CustomObjectScope", "custom_object_scope", "deserialize_keras_object", "enable_unsafe_deserialization",
    "get_custom_objects", "get_registered_name", "get_registered_object", "register_keras_serializable",
    "register_serializable", "serialize_keras_object", "to_snake_case",
]

PLAIN_TYPES = (str, int, float, bool)
TENSOR_CLASS = "__keras_tensor__"

# Keras' public namespaces, in the order a class is looked for in them. "layers" and "models" are registered by
# those packages; the ones below saving are registered here.
_NAMESPACE_ORDER = ("layers", "models", "losses", "metrics", "optimizers", "initializers", "regularizers",
                    "constraints", "activations")
_LOWER_NAMESPACES = _NAMESPACE_ORDER[2:]


def _import_lower(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


for _name in _LOWER_NAMESPACES:
    register_namespace(_name, lambda module=f"kgraph.{_name}": _import_lower(module))
# Where functions named in configs ("relu", "mean_squared_error") are looked for, in this order.
_FUNCTION_MODULES = ("kgraph.activations", "kgraph.losses", "kgraph.metrics")
_DTYPE_POLICIES = ("DTypePolicy", "FloatDTypePolicy", "Policy")


# --- shared objects ---------------------------------------------------------------------------------------
_sharing = threading.local()


@contextlib.contextmanager
def object_sharing_scope():
    """Within it, an object serialized twice gets a `shared_object_id`, and deserialization reuses it."""
    previous = getattr(_sharing, "maps", None)
    _sharing.maps = ({}, {})
    try:
        yield
    finally:
        _sharing.maps = previous


def _record_serialized(obj, config: dict) -> None:
    maps = getattr(_sharing, "maps", None)
    if maps is None:
        return
    configs = maps[0]
    if id(obj) not in configs:
        configs[id(obj)] = (obj, config)
    else:
        config["shared_object_id"] = id(obj)
        configs[id(obj)][1]["shared_object_id"] = id(obj)


def _shared(config: dict):
    maps = getattr(_sharing, "maps", None)
    if maps is None or "shared_object_id" not in config:
        return None
    return maps[1].get(config["shared_object_id"])


def _record_deserialized(config: dict, obj) -> None:
    maps = getattr(_sharing, "maps", None)
    if maps is not None and "shared_object_id" in config:
        maps[1][config["shared_object_id"]] = obj


# --- serialize --------------------------------------------------------------------------------------------
def _user_class(cls):
    """The class a user wrote, for the Functional-mixed subclass `MyModel(inputs, outputs)` makes of it."""
    return cls.__dict__.get("_keras_user_class", cls)


def _public_location(cls) -> tuple[str | None, str, str | None]:
    """(module, class_name, registered_name) as Keras writes them for `cls`."""
    cls = _user_class(cls)
    if is_registered(cls):
        return cls.__module__, cls.__name__, get_registered_name(cls)
    module = getattr(cls, "__module__", "") or ""
    if module == "kgraph" or module.startswith("kgraph."):
        if "_keras_location" in cls.__dict__:
            return cls._keras_location
        for keras_name in _NAMESPACE_ORDER:
            namespace = keras_namespace(keras_name)
            if namespace is not None and getattr(namespace, cls.__name__, None) is cls:
                return f"keras.{keras_name}", cls.__name__, None
        return module, cls.__name__, f"kgraph>{cls.__name__}"
    return (None if module == "__main__" else module), cls.__name__, cls.__name__


def _function_config(fn) -> dict:
    if fn.__name__ == "<lambda>":
        warnings.warn("The object being serialized includes a `lambda`, stored as Python bytecode. Loading it "
                      "needs `safe_mode=False`; prefer named functions registered with "
                      "@kgraph.saving.register_keras_serializable().", stacklevel=3)
        return {"class_name": "__lambda__", "config": {"value": _func_dump(fn)}}
    return {"module": "builtins", "class_name": "function", "config": get_registered_name(fn),
            "registered_name": "function"}


def _get_config(obj) -> dict:
    get_config = obj.get_config
    if "include_bytecode" in inspect.signature(get_config).parameters:
        config = get_config(include_bytecode=True)
        if _holds_bytecode(config):
            warnings.warn(f"{type(obj).__name__} {getattr(obj, 'name', '')!r} holds a lambda or closure, stored as "
                          "Python bytecode: loading it needs `safe_mode=False` and the same Python version. Prefer "
                          "module-level functions.", stacklevel=4)
    else:
        config = get_config()
    if not isinstance(config, dict):
        raise TypeError(f"{type(obj).__name__}.get_config() must return a dict, it returned {type(config).__name__}")
    return config


def _holds_bytecode(value) -> bool:
    if isinstance(value, dict):
        return value.get("class_name") == "__lambda__" or any(_holds_bytecode(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_bytecode(v) for v in value)
    return False


def serialize_keras_object(obj) -> Any:
    """`obj` as Keras' serialized form: plain values as they are, objects as module/class_name/config dicts.

    Layers and models also get `build_config`, compiled models `compile_config`.
    """
    if obj is None or isinstance(obj, PLAIN_TYPES):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [serialize_keras_object(x) for x in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        return {key: serialize_keras_object(value) for key, value in obj.items()}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {"start": serialize_keras_object(obj.start),
                                                      "stop": serialize_keras_object(obj.stop),
                                                      "step": serialize_keras_object(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, np.dtype):
        return obj.name
    if isinstance(obj, (np.ndarray, np.generic)) or _is_array(obj):
        array = np.asarray(obj)
        if array.ndim == 0:
            return array.item()
        if type(obj).__module__ == np.__name__:
            return {"class_name": "__numpy__", "config": {"value": array.tolist(), "dtype": _dtype_name(array)}}
        return {"class_name": "__tensor__", "config": {"value": array.tolist(), "dtype": _dtype_name(array)}}
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        return _function_config(obj)
    if inspect.isclass(obj):
        return get_registered_name(obj)
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize {obj!r} of type {type(obj).__name__}: it has no `get_config()` method")
    module, class_name, registered_name = _public_location(type(obj))
    config = {"module": module, "class_name": class_name,
              "config": serialize_keras_object(_get_config(obj)), "registered_name": registered_name}
    build_config = get_build_config(obj)
    if build_config is not None:
        config["build_config"] = serialize_keras_object(build_config)
    get_compile_config = getattr(obj, "get_compile_config", None)
    if callable(get_compile_config):
        compile_config = get_compile_config()
        if compile_config is not None:
            config["compile_config"] = serialize_keras_object(compile_config)
    _record_serialized(obj, config)
    return config


def _is_array(obj) -> bool:
    try:
        return isinstance(obj, jax.Array)
    except ImportError:  # pragma: no cover
        return False


def _dtype_name(array: np.ndarray) -> str:
    name = str(array.dtype)
    return "bfloat16" if name == "bfloat16" else np.dtype(array.dtype).name


def get_build_config(obj) -> dict | None:
    """What Keras writes as `build_config`: the object's `get_build_config()`, when it has one."""
    own = getattr(obj, "get_build_config", None)
    return own() if callable(own) else None


# --- lambdas ----------------------------------------------------------------------------------------------
def _func_dump(fn) -> tuple:
    """Keras' `func_dump`: (base64 marshalled code, defaults, closure values)."""
    code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
    closure = tuple(cell.cell_contents for cell in fn.__closure__) if fn.__closure__ else None
    return code, fn.__defaults__, closure


def _func_load(value) -> types.FunctionType:
    if isinstance(value, (list, tuple)):
        code, defaults, closure = (list(value) + [None, None])[:3]
    else:
        code, defaults, closure = value, None, None
    raw = base64.decodebytes(code.encode("ascii") if isinstance(code, str) else code)
    code = marshal.loads(raw)  # only reached with safe_mode=False
    cells = tuple(types.CellType(v) for v in closure) if closure else None
    return types.FunctionType(code, globals(), code.co_name, tuple(defaults) if defaults else None, cells)


# --- deserialize ------------------------------------------------------------------------------------------
class UnknownObjectError(ValueError):
    """A config names a class or function that no registry, scope or kgraph namespace knows."""


def _how_to_register(name: str) -> str:
    return (f"If {name!r} is a custom class or function, make it known when loading: decorate it with "
            f"`@kgraph.saving.register_keras_serializable()`, pass `custom_objects={{{name!r}: {name}}}`, or load "
            f"inside `with kgraph.saving.CustomObjectScope({{{name!r}: {name}}}):`.")


def _kgraph_module(keras_module: str | None):
    """The kgraph module that holds what `keras_module` holds; None when there is none."""
    if not keras_module:
        return None
    parts = keras_module.split(".")
    if parts[0] == "kgraph":
        if len(parts) > 1 and parts[1] in _LOWER_NAMESPACES:
            try:
                return importlib.import_module(keras_module)  # kgraph's own modules below saving only
            except ImportError:
                return None
        return keras_namespace(parts[1]) if len(parts) > 1 and parts[1] in _NAMESPACE_ORDER else None
    if parts[0] not in ("keras", "tf_keras", "tensorflow"):
        return None
    for part in parts[1:]:
        if part in _NAMESPACE_ORDER:
            return keras_namespace(part)
    if parts[1:2] == ["src"] and len(parts) > 2 and parts[2] in ("engine", "models"):
        return keras_namespace("models")
    return None


_LEGACY_SEARCH = ("losses", "metrics", "optimizers", "initializers", "regularizers", "constraints")


def is_keras_op_module(module: str | None) -> bool:
    return bool(module) and (module == "keras.ops" or module.startswith("keras.ops.")
                             or module.startswith("keras.src.ops"))


def _resolve_class(class_name: str, module: str | None, registered_name: str | None, custom_objects: dict | None,
                   module_objects: dict | None = None):
    for name in (registered_name, class_name):
        obj = get_registered_object(name, custom_objects)
        if obj is not None:
            return obj
    if module_objects and class_name in module_objects:
        return module_objects[class_name]
    candidates = []
    namespace = _kgraph_module(module)
    if namespace is not None:
        candidates.append(namespace)
    if module in (None, "keras", "builtins") or (module or "").startswith(("keras.src.engine", "keras.engine")):
        candidates += [keras_namespace("models"), keras_namespace("layers")]
        if module is None:  # legacy configs name no module: try every kgraph namespace, losses before metrics
            candidates += [keras_namespace(name) for name in _LEGACY_SEARCH]
    for namespace in candidates:
        obj = getattr(namespace, class_name, None) if namespace is not None else None
        if inspect.isclass(obj):
            return obj
    if (module or "").startswith("kgraph") or registered_name == f"kgraph>{class_name}":
        obj = get_builtin(registered_name) or get_builtin(class_name)
        if obj is not None:
            return obj
    where = f" (module {module!r})" if module else ""
    if module and (module == "keras" or module.startswith("keras.")) and namespace is not None:
        raise UnknownObjectError(f"kgraph has no {class_name!r}{where}: {namespace.__name__} does not define it. "
                                 + _how_to_register(class_name))
    raise UnknownObjectError(f"Unknown object {class_name!r}{where} in the config. " + _how_to_register(class_name))


def _resolve_function(name: str, module: str | None, custom_objects: dict | None, module_objects: dict | None,
                      safe: bool = True):
    obj = get_registered_object(name, custom_objects, module_objects)
    if obj is not None:
        return obj
    if ">" in name:  # registered at save time, passed by plain name at load time
        obj = get_registered_object(name.split(">", 1)[1], custom_objects, module_objects)
        if obj is not None:
            return obj
    else:  # saved by plain name (older files), registered as "package>name"
        matches = [obj for key, obj in active_custom_objects(custom_objects).items()
                   if key.endswith(f">{name}") and callable(obj)]
        if len(matches) == 1:
            return matches[0]
    modules = list(_FUNCTION_MODULES)
    namespace = _kgraph_module(module)
    if namespace is not None:
        modules.insert(0, namespace.__name__)
    for module_name in modules:
        fn = getattr(importlib.import_module(module_name), name, None)
        if callable(fn) and not inspect.isclass(fn):
            return fn
    if not safe and module and module != "builtins" and ">" not in name:
        return _import_function(module, name)
    raise UnknownObjectError(f"Unknown function {name!r} in the config. " + _how_to_register(name.split(">")[-1]))


def _import_function(module: str, qualname: str):
    """Only with safe mode off: `module.qualname`, importing `module` (which runs its code)."""
    target = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise UnknownObjectError(f"{module}.{qualname} is not a function")
    return target


def _effective_safe_mode(safe_mode: bool | None) -> bool:
    scoped = in_safe_mode()
    if scoped is not None:
        return scoped
    return True if safe_mode is None else bool(safe_mode)


def deserialize_keras_object(config, custom_objects: dict | None = None, safe_mode: bool | None = True,
                             module_objects: dict | None = None, build: bool = True, **kwargs):
    """The object a serialized config describes (what `serialize_keras_object` or Keras wrote).

    Args:
        config: a serialized object, a plain value, a name, or a list/dict of those.
        custom_objects: name -> class or function, looked up before the registry and kgraph's namespaces.
        safe_mode: refuse Python bytecode (lambdas); overridden by an enclosing `SafeModeScope`.
        module_objects: extra name -> object fallbacks (e.g. a module's builtins).
        build: apply a `build_config` to layers that come back unbuilt.
    """
    safe = _effective_safe_mode(safe_mode)
    if config is None or isinstance(config, (int, float, bool)):
        return config
    if isinstance(config, str):
        obj = get_registered_object(config, custom_objects)
        return obj if obj is not None else config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(x, custom_objects, safe, module_objects, build) for x in config]
    if not isinstance(config, dict):
        raise TypeError(f"Could not parse config: expected a dict, list or plain value, got {type(config).__name__}")
    if "class_name" not in config or "config" not in config:
        return {key: deserialize_keras_object(value, custom_objects, safe, module_objects, build)
                for key, value in config.items()}
    class_name = config["class_name"]
    inner = config["config"] if config["config"] is not None else {}
    module = config.get("module")
    special = _deserialize_special(class_name, inner, custom_objects, safe, module_objects, build)
    if special is not _NOT_SPECIAL:
        return special
    if not isinstance(class_name, str):
        raise ValueError(f"A config's 'class_name' must be a string, got {class_name!r}")
    if class_name == "function":
        if not isinstance(inner, str):
            raise TypeError(f"A function config must name the function as a string, got {inner!r}")
        return _resolve_function(inner, module, custom_objects, module_objects, safe)
    if class_name in _DTYPE_POLICIES and (module is None or module.startswith("keras")) and isinstance(inner, dict):
        return inner.get("name")
    shared = _shared(config)
    if shared is not None:
        return shared
    if is_keras_op_module(module):
        raise ValueError(f"The config applies the Keras op {class_name!r} ({module}) outside a Functional model's "
                         "layers, where kgraph cannot place it")
    cls = _resolve_class(class_name, module, config.get("registered_name"), custom_objects, module_objects)
    if isinstance(cls, types.FunctionType):
        return cls
    if not hasattr(cls, "from_config"):
        raise TypeError(f"Cannot rebuild {class_name!r}: {cls!r} has no `from_config()` method")
    if not isinstance(inner, dict):
        raise TypeError(f"The config of {class_name!r} must be a dict, got {type(inner).__name__}")
    instance = instantiate(cls, inner, custom_objects, safe)
    if build and config.get("build_config") and not getattr(instance, "built", True):
        build_from_config(instance, config["build_config"])
    if config.get("compile_config") and callable(getattr(instance, "compile_from_config", None)):
        with CustomObjectScope(custom_objects), SafeModeScope(safe):
            instance.compile_from_config(config["compile_config"])
    _record_deserialized(config, instance)
    return instance


_NOT_SPECIAL = object()


def _deserialize_special(class_name, inner, custom_objects, safe, module_objects, build):
    if class_name == "__numpy__" or class_name == "__tensor__":
        return _array(inner["value"], inner.get("dtype"))
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__slice__":
        return slice(*(deserialize_keras_object(inner.get(k), custom_objects, safe, module_objects, build)
                       for k in ("start", "stop", "step")))
    if class_name == "__lambda__":
        if safe:
            raise ValueError("Requested the deserialization of a Python lambda, stored as bytecode: loading it can "
                             "run arbitrary code, so it is refused in safe mode. If you trust the source of the file, "
                             "pass `safe_mode=False` or call `kgraph.saving.enable_unsafe_deserialization()`.")
        return _func_load(inner["value"])
    if class_name == TENSOR_CLASS:
        raise ValueError("The config holds a KerasTensor outside a Functional model's layers, where kgraph cannot "
                         "connect it to a layer call")
    if class_name == "__typespec__":
        raise ValueError("The config holds a TensorFlow TypeSpec, which kgraph does not support")
    return _NOT_SPECIAL


def _array(value, dtype):
    return np.asarray(value, dtype=numpy_dtype(dtype) if dtype == "bfloat16" else dtype)


# --- building instances -----------------------------------------------------------------------------------
def _accepted_arguments(cls) -> set[str] | None:
    """Keyword arguments `cls(...)` accepts, following `**kwargs` up the MRO to the saveable base class (Layer,
    Optimizer); None if unknowable."""
    bases = [klass for klass in cls.__mro__ if "_obj_type" in vars(klass)]
    base = bases[-1] if bases else None
    accepted: set[str] = set()
    if base is not None:  # models and mixins may hide the base's own arguments behind an argument-less __init__
        accepted.update(p for p in inspect.signature(base.__init__).parameters if p not in ("self", "kwargs"))
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        try:
            parameters = inspect.signature(init).parameters
        except (TypeError, ValueError):
            return None
        accepted.update(name for name, p in parameters.items()
                        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name != "self")
        var_keyword = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
        if not var_keyword or klass is base:
            return accepted
    return accepted


def _is_serialized(value) -> bool:
    return isinstance(value, dict) and "class_name" in value and "config" in value


# Keras arguments that do nothing at these values (their switch, e.g. `renorm`, is off), for kgraph classes
# that do not take them.
_KERAS_INERT_DEFAULTS = {"renorm_momentum": 0.99}
_EAGER_MODULES = ("initializers", "regularizers", "constraints", "activations")


def normalize_config(cls, config: dict, custom_objects: dict | None = None, safe: bool = True) -> dict:
    """A Keras config made acceptable to kgraph's built-in `cls`.

    Dtype policies become dtype names; initializers, regularizers and activation functions are built here
    (kgraph layers take instances); nested layer configs are normalized the same way; and arguments kgraph
    does not have are dropped when Keras wrote them at an inert value (None or False).
    """
    module = getattr(cls, "__module__", "") or ""
    if not (module == "kgraph" or module.startswith("kgraph.")):
        return config
    accepted = _accepted_arguments(cls)
    config = _legacy_arguments(cls, config, accepted)
    result = {}
    for key, value in config.items():
        if accepted is not None and key not in accepted and (value is None or value is False
                                                             or _KERAS_INERT_DEFAULTS.get(key, _NOT_SPECIAL) == value):
            continue
        if isinstance(value, str) and key.endswith("activation"):
            value = _custom_activation(value, custom_objects, safe)
        result[key] = _normalize_value(value, custom_objects, safe)
    return result


def _custom_activation(name: str, custom_objects, safe):
    """An activation named by a string that is not a built-in: the registered or custom function, if any."""
    if getattr(activations, name, None) is not None and callable(getattr(activations, name)):
        return name
    try:
        return _resolve_function(name, None, custom_objects, None, safe)
    except UnknownObjectError:
        return name


def _legacy_arguments(cls, config: dict, accepted: set[str] | None) -> dict:
    """Keras 2's `batch_input_shape` becomes `batch_shape` (InputLayer) or `input_shape` (other layers)."""
    if "batch_input_shape" not in config or (accepted is not None and "batch_input_shape" in accepted):
        return config
    config = dict(config)
    shape = config.pop("batch_input_shape")
    if accepted is None or "batch_shape" in accepted:
        config.setdefault("batch_shape", shape)
    elif shape is not None:
        config.setdefault("input_shape", tuple(shape[1:]))
    return config


def _normalize_value(value, custom_objects, safe):
    if not _is_serialized(value):
        return value
    module, class_name = value.get("module"), value.get("class_name")
    if class_name in _DTYPE_POLICIES and isinstance(value.get("config"), dict):
        return value["config"].get("name")
    keras_lambda = class_name == "__lambda__" and isinstance(value.get("config"), dict) and "value" in value["config"]
    if class_name == "function" or keras_lambda:
        return deserialize_keras_object(value, custom_objects, safe)
    if any(
            (module or "").startswith(f"keras.{m}") or (module or "").startswith(f"keras.src.{m}")
            for m in _EAGER_MODULES):
        try:
            return deserialize_keras_object(value, custom_objects, safe)
        except UnknownObjectError:
            return value  # perhaps the layer knows it (e.g. an initializer private to a layer family)
    if isinstance(value.get("config"), dict) and isinstance(class_name, str):
        try:
            cls = _resolve_class(class_name, module, value.get("registered_name"), custom_objects)
        except UnknownObjectError:
            return value
        if inspect.isclass(cls):
            return {**value, "config": normalize_config(cls, value["config"], custom_objects, safe)}
    return value


def instantiate(cls, config: dict, custom_objects: dict | None = None, safe: bool = True):
    """`cls.from_config(config)` inside the custom-object and safe-mode scopes, passing them on when
    `from_config` takes `custom_objects` or `safe_mode`; errors name the class."""
    config = normalize_config(cls, dict(config), custom_objects, safe)
    kwargs = {}
    try:
        parameters = inspect.signature(cls.from_config).parameters
    except (TypeError, ValueError):
        parameters = {}
    if "custom_objects" in parameters:
        kwargs["custom_objects"] = active_custom_objects(custom_objects)
    if "safe_mode" in parameters:
        kwargs["safe_mode"] = safe
    with CustomObjectScope(custom_objects), SafeModeScope(safe):
        try:
            return cls.from_config(config, **kwargs)
        except TypeError as e:
            name = config.get("name") if isinstance(config, dict) else None
            label = f"{cls.__name__} {name!r}" if name else cls.__name__
            raise TypeError(f"{label} could not be rebuilt from its config: {e}. Objects that `get_config()` returns "
                            "as Python objects must be deserialized in the class's `from_config()`.") from e


def build_from_config(layer, build_config: dict) -> None:
    """Creates the weights of an unbuilt layer from a `build_config` with its `build_from_config` (Keras' hook)."""
    own = getattr(layer, "build_from_config", None)
    if callable(own):
        own(build_config)
