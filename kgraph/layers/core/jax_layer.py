"""JaxLayer and FlaxLayer: a user's JAX function (or Flax module) as a layer, its params kgraph Variables.

The call is one opaque `jax_call` IR node whose JAX rule is the user's function, typed by `jax.eval_shape`, so it
trains and runs under XLA with the rest of the model; ONNX export refuses it.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from kgraph import random as kg_random
from kgraph import seeds
from kgraph.ir.types import TensorType, canonical_dtype, is_float
from kgraph.layers.layer import Layer
from kgraph.ops.dispatch import apply, unwrap
from kgraph.tracing import SymbolicTensor, current_trace
from kgraph.variables import Variable

_CALL_ARGS = {"params", "state", "rng", "inputs", "training"}
_INIT_ARGS = {"rng", "inputs", "training"}


def _signature(fn: Callable, fn_name: str, allowed: set[str], required: set[str]) -> list[str]:
    """The argument names of `fn`, checked against Keras' names for JaxLayer functions."""
    parameters = inspect.signature(fn).parameters
    for name in required:
        if name not in parameters:
            raise ValueError(f"Missing required argument in `{fn_name}`: `{name}`")
    names = []
    for parameter in parameters.values():
        if parameter.name not in allowed:
            raise ValueError(f"Unsupported argument in `{fn_name}`: `{parameter.name}`, supported arguments are "
                             f"`{'`, `'.join(sorted(allowed))}`")
        names.append(parameter.name)
    return names


def _is_variable(x) -> bool:
    return isinstance(x, Variable)


def _type_of(x) -> TensorType:
    if isinstance(x, SymbolicTensor):
        return x.type
    return TensorType(canonical_dtype(x.dtype), tuple(int(d) for d in x.shape))


def _output_types(fn: Callable, in_types: list[TensorType], layer: str) -> tuple[list[TensorType], Any]:
    """`fn`'s output types for inputs of `in_types` (symbolic dims stay symbolic) and its output structure."""
    symbols = sorted({d for t in in_types for d in t.shape if isinstance(d, str)})
    scope = jax.export.SymbolicScope()
    dims = dict(zip(symbols, jax.export.symbolic_shape(", ".join(f"d{i}" for i in range(len(symbols))),
                                                       scope=scope))) if symbols else {}
    names = {f"d{i}": s for i, s in enumerate(symbols)}
    specs = [jax.ShapeDtypeStruct(tuple(dims.get(d, d) for d in t.shape), jnp.dtype(t.dtype)) for t in in_types]
    try:
        out = jax.eval_shape(fn, *specs)
    except Exception as error:
        raise ValueError(f"JaxLayer {layer!r}: could not work out the output shapes of its function for inputs "
                         f"{[str(t) for t in in_types]}: {error}") from error
    leaves, structure = jax.tree_util.tree_flatten(out)

    def dim(d):
        return int(d) if isinstance(d, (int, np.integer)) else names.get(str(d), str(d))

    return [TensorType(canonical_dtype(leaf.dtype), tuple(dim(d) for d in leaf.shape)) for leaf in leaves], structure


def _serialize_fn(fn: Callable | None, layer: str):
    if fn is None:
        return None
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if module is None or "<" in qualname or getattr(importlib.import_module(module), qualname, None) is not fn:
        raise ValueError(f"JaxLayer {layer!r}: {fn!r} is not an importable module-level function, so the layer "
                         "cannot be serialized; define it with `def` at module level")
    return {"module": module, "class_name": "function", "config": qualname, "registered_name": "function"}


def _deserialize_fn(config):
    if config is None or callable(config):
        return config
    return getattr(importlib.import_module(config["module"]), config["config"])


class JaxLayer(Layer):
    """Wraps a JAX function `call_fn` (and optionally `init_fn`) as a layer, as `keras.layers.JaxLayer`.

    `call_fn` takes, by these names, `params` (trainable), `state` (non-trainable; then it returns
    `(outputs, new_state)`), `rng`, `inputs` and `training`; only `inputs` is required. `init_fn(rng, inputs,
    training)` returns the initial params (and state), built from ones of the input shape (None dims as 1).

    Args:
        call_fn: The model function.
        init_fn: Creates `params`/`state` at build time when they are not given.
        params: Initial trainable parameters, a pytree of arrays.
        state: Initial non-trainable state, a pytree of arrays.
        seed: Seed of the `rng` keys given to `call_fn` and `init_fn`.
        **kwargs: Layer arguments (`name`, `trainable`, `dtype`).
    """

    def __init__(self, call_fn: Callable, init_fn: Callable | None = None, params=None, state=None,
                 seed: int | None = None, native_serialization_platforms=None, **kwargs):
        super().__init__(**kwargs)
        self.call_fn, self.init_fn, self.seed = call_fn, init_fn, seed
        self.native_serialization_platforms = native_serialization_platforms
        self.call_fn_arguments = _signature(call_fn, "call_fn", _CALL_ARGS, {"inputs"})
        self.call_fn_has_params = "params" in self.call_fn_arguments
        self.call_fn_has_state = "state" in self.call_fn_arguments
        self.init_fn_arguments = _signature(init_fn, "init_fn", _INIT_ARGS, {"inputs"}) if init_fn else []
        if init_fn is None and params is None and state is None and (self.call_fn_has_params
                                                                      or self.call_fn_has_state):
            raise ValueError("`init_fn`, `params` and `state` cannot all be `None` when `call_fn` takes a `params` "
                             "or a `state` argument.")
        self._seed_offset = kg_random.next_seed() if seed is None else int(seed)
        self.params = self.state = None
        if params is not None or state is not None:
            self._track(params, state)
            self.built = True

    def _track(self, params, state) -> None:
        """Creates the Variables holding `params` (trainable) and `state`, keeping their pytree structure."""
        count = [0]

        def variables(values, trainable):
            def create(value):
                array = np.asarray(value)
                dtype = canonical_dtype(array.dtype)
                name = "variable" if count[0] == 0 else f"variable_{count[0]}"  # numbered per layer
                count[0] += 1
                return self.add_weight(shape=array.shape, initializer=lambda shape, dtype=None, v=array: v,
                                       dtype=None if is_float(dtype) else dtype, trainable=trainable, name=name)
            return None if values is None else jax.tree_util.tree_map(create, values)

        self.params = variables(params, True)
        self.state = variables(state, False)

    def _init_rng(self):
        return seeds.key(self._seed_offset)

    def _call_rng(self, training, key):
        """The `rng` argument of `call_fn`: a key while training, else None (as Keras passes)."""
        return jax.random.fold_in(key, self._seed_offset) if key is not None else None

    def build(self, input_shape):
        if self.params is None and self.state is None and (self.call_fn_has_params or self.call_fn_has_state):
            inputs = jax.tree_util.tree_map(lambda shape: jnp.ones([1 if d is None else d for d in shape]),
                                            input_shape, is_leaf=lambda s: isinstance(s, (tuple, list)) and all(
                                                d is None or isinstance(d, int) for d in s))
            args = {"rng": self._init_rng(), "inputs": inputs, "training": True}
            result = self.init_fn(*(args[name] for name in self.init_fn_arguments))
            params, state = result if self.call_fn_has_state else (result, None)
            self._track(params, state)
        self.built = True

    def call(self, inputs, training=False):
        params = jax.tree_util.tree_map(lambda v: v.value, self.params, is_leaf=_is_variable)
        state = jax.tree_util.tree_map(lambda v: v.value, self.state, is_leaf=_is_variable)
        trace = current_trace()
        key = None
        if "rng" in self.call_fn_arguments and training:
            key = trace.rng() if trace is not None else seeds.key()
        leaves, treedef = jax.tree_util.tree_flatten({"params": params, "state": state, "inputs": inputs, "key": key},
                                                     is_leaf=lambda x: isinstance(x, SymbolicTensor))
        leaves = [unwrap(x) for x in leaves]
        layer = self

        def structured(*arrays):
            args = jax.tree_util.tree_unflatten(treedef, list(arrays))
            given = {"params": args["params"], "state": args["state"], "inputs": args["inputs"],
                     "rng": layer._call_rng(training, args["key"]), "training": training}
            return layer.call_fn(*(given[name] for name in layer.call_fn_arguments))

        def flat_fn(*arrays):
            return jax.tree_util.tree_leaves(structured(*arrays))

        in_types = [_type_of(x) for x in leaves]
        out_types, structure = _output_types(structured, in_types, self.name)
        outputs = apply("jax_call", *leaves, fn=flat_fn, in_types=tuple(in_types), out_types=tuple(out_types),
                        name=self.name)
        result = jax.tree_util.tree_unflatten(structure, [outputs] if len(out_types) == 1 else list(outputs))
        if not self.call_fn_has_state:
            return result
        predictions, new_state = result
        variables = jax.tree_util.tree_leaves(self.state, is_leaf=_is_variable)
        for variable, value in zip(variables, jax.tree_util.tree_leaves(new_state)):
            variable.assign(value)
        return predictions

    def get_config(self) -> dict:
        return {**super().get_config(), "call_fn": _serialize_fn(self.call_fn, self.name),
                "init_fn": _serialize_fn(self.init_fn, self.name),
                "native_serialization_platforms": self.native_serialization_platforms}

    @classmethod
    def from_config(cls, config: dict):
        config = {**config, "call_fn": _deserialize_fn(config["call_fn"]),
                  "init_fn": _deserialize_fn(config.get("init_fn"))}
        return cls(**config)


def _serialize_module(module) -> dict:
    """A Flax module as its importable class and its dataclass fields."""
    cls = type(module)
    if getattr(importlib.import_module(cls.__module__), cls.__qualname__, None) is not cls:
        raise ValueError(f"FlaxLayer: the module class {cls.__qualname__!r} is not importable at module level, so the "
                         "layer cannot be serialized")
    fields = {f.name: getattr(module, f.name) for f in dataclasses.fields(module) if f.name not in ("parent", "name")}
    return {"module": cls.__module__, "class_name": cls.__qualname__, "config": fields}


def _deserialize_module(config):
    if not isinstance(config, dict):
        return config
    return getattr(importlib.import_module(config["module"]), config["class_name"])(**config["config"])


class FlaxLayer(JaxLayer):
    """Wraps a Flax Linen module as a layer, as `keras.layers.FlaxLayer`: its "params" collection becomes the
    trainable Variables, its other collections (batch statistics) the non-trainable ones, updated by each call.

    Args:
        module: A `flax.linen.Module`.
        method: The module method to call (default `__call__`); a `training` argument is passed when it has one.
        variables: The module's initial variables; built from `module.init` when None.
        **kwargs: `seed` and the Layer arguments.
    """

    def __init__(self, module, method=None, variables=None, **kwargs):
        self.module, self.method = module, method
        takes_training = "training" in inspect.signature(method or module.__call__).parameters
        layer = self

        def call_fn(params, state, rng, inputs, training):
            extra = {"training": training} if takes_training else {}
            return layer.module.apply(layer._params_and_state_to_variables(params, state), inputs,
                                      rngs=rng or {}, method=layer.method, mutable=sorted(state or {}), **extra)

        def init_fn(rng, inputs, training):
            extra = {"training": training} if takes_training else {}
            return layer._variables_to_params_and_state(layer.module.init(rng, inputs, method=layer.method, **extra))

        params, state = self._variables_to_params_and_state(variables)
        super().__init__(call_fn=call_fn, init_fn=init_fn, params=params, state=state, **kwargs)

    @staticmethod
    def _params_and_state_to_variables(params, state) -> dict:
        return {**(params or {}), **(state or {})}

    @staticmethod
    def _variables_to_params_and_state(variables):
        if variables is None:
            return None, None
        if "params" not in variables:
            return {}, dict(variables)
        return {"params": variables["params"]}, {k: v for k, v in variables.items() if k != "params"}

    def _init_rng(self):
        return {"params": seeds.key(self._seed_offset), "dropout": seeds.key(self._seed_offset + 1)}

    def _call_rng(self, training, key):
        return {"dropout": jax.random.fold_in(key, self._seed_offset)} if key is not None else {}

    def get_config(self) -> dict:
        method = self.method.__name__ if getattr(self.method, "__self__", None) is self.module else self.method
        config = {**Layer.get_config(self), "seed": self.seed, "module": _serialize_module(self.module),
                  "method": method}
        return config

    @classmethod
    def from_config(cls, config: dict):
        module = _deserialize_module(config["module"])
        method = getattr(module, config["method"]) if isinstance(config.get("method"), str) else config.get("method")
        return cls(**{**config, "module": module, "method": method})
