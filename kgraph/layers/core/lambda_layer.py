"""Lambda: wraps a function of tensors as a layer; the function is saved by reference, or as bytecode if asked."""

from __future__ import annotations

import base64
import importlib
import inspect
import marshal
import types
from typing import Any, Callable

from kgraph.layers.layer import Layer

_BYTECODE = "__lambda__"


class Lambda(Layer):
    """Calls `function(inputs, **arguments)`, passing `mask` and `training` too when the function takes them.

    Args:
        function: the function; importable functions (module-level `def`s) serialize by module and name.
        output_shape: the output shape without the batch dim (or a function of the input shape), kept for
            Keras compatibility; kgraph infers shapes by tracing `function`.
        mask: None (no output mask), or a function `(inputs, mask) -> mask`.
        arguments: keyword arguments passed to `function`.
    """

    def __init__(self, function: Callable, output_shape=None, mask: Callable | None = None,
                 arguments: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function) or mask is not None and not callable(mask):
            raise TypeError(f"Lambda: `function` and `mask` must be callable, got function={function!r}, mask={mask!r}")
        self.function = function
        self.output_shape = output_shape
        self.mask = mask
        self.arguments = dict(arguments or {})
        self.supports_masking = mask is not None
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            parameters = {}
        self._passes_mask = "mask" in parameters
        self._passes_training = "training" in parameters
        self.built = True

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._passes_mask:
            kwargs["mask"] = mask
        if self._passes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        return None if self.mask is None else self.mask(inputs, mask)

    def get_config(self, include_bytecode: bool = False) -> dict:
        """The config; a lambda or closure raises unless `include_bytecode`, which stores its marshalled code.

        Args:
            include_bytecode: store functions that cannot be imported as bytecode, loadable only with
                `from_config(config, safe_mode=False)` in the same Python version.
        """
        config = {**super().get_config(), "function": _serialize(self.function, include_bytecode, self.name),
                  "arguments": self.arguments}
        if self.output_shape is not None:
            config["output_shape"] = (_serialize(self.output_shape, include_bytecode, self.name)
                                      if callable(self.output_shape) else self.output_shape)
        if self.mask is not None:
            config["mask"] = _serialize(self.mask, include_bytecode, self.name)
        return config

    @classmethod
    def from_config(cls, config: dict, safe_mode: bool = True) -> "Lambda":
        """Rebuilds the layer; bytecode is refused unless `safe_mode=False`, since loading it runs arbitrary code.

        Args:
            config: what `get_config` returned.
            safe_mode: refuse functions stored as bytecode.
        """
        config = dict(config)
        for key in ("function", "output_shape", "mask"):
            if isinstance(config.get(key), dict):
                config[key] = _deserialize(config[key], safe_mode, config.get("name"))
        if isinstance(config.get("output_shape"), list):
            config["output_shape"] = tuple(config["output_shape"])
        return cls(**config)


def _importable(fn: Callable) -> bool:
    """Whether `fn` is what importing its module and looking up its qualified name gives back."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not module or not qualname or "<" in qualname:
        return False
    try:
        return _lookup(module, qualname) is fn
    except (ImportError, AttributeError):
        return False


def _lookup(module: str, qualname: str) -> Any:
    target = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def _serialize(fn: Callable, include_bytecode: bool, layer: str) -> dict:
    if _importable(fn):
        return {"module": fn.__module__, "class_name": "function", "config": fn.__qualname__,
                "registered_name": "function"}
    if not isinstance(fn, types.FunctionType):
        raise ValueError(f"Lambda layer {layer!r}: {fn!r} is neither an importable function nor a Python function, "
                         "so it cannot be serialized; define it with `def` at module level")
    if not include_bytecode:
        raise ValueError(f"Lambda layer {layer!r}: {fn.__qualname__!r} is a lambda or closure, which only serializes "
                         "as bytecode; define it with `def` at module level, or call get_config(include_bytecode=True)")
    closure = tuple(cell.cell_contents for cell in fn.__closure__) if fn.__closure__ else None
    code = base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")
    return {"class_name": _BYTECODE,
            "config": {"code": code, "defaults": fn.__defaults__, "closure": closure, "module": fn.__module__}}


def _deserialize(config: dict, safe_mode: bool, layer: str | None) -> Callable:
    if config.get("class_name") == "function":
        return _lookup(config["module"], config["config"])
    if config.get("class_name") != _BYTECODE:
        raise ValueError(f"Lambda layer {layer!r}: cannot load a function from {config!r}")
    if safe_mode:
        raise ValueError(f"Lambda layer {layer!r}: its function is stored as Python bytecode, and loading it can run "
                         "arbitrary code; if you trust the source, pass safe_mode=False")
    inner = config["config"]
    code = marshal.loads(base64.b64decode(inner["code"]))
    try:
        namespace = vars(importlib.import_module(inner["module"]))
    except (ImportError, TypeError):
        namespace = {"__builtins__": __builtins__}
    closure = tuple(types.CellType(value) for value in inner["closure"]) if inner["closure"] is not None else None
    return types.FunctionType(code, namespace, code.co_name, inner["defaults"], closure)
