"""`kgraph.Operation`: Keras' base class for a stateless computation users subclass with `call`.

An Operation's `call` written with `kgraph.ops` runs on whatever it gets: on arrays eagerly, on a traced model's
symbolic tensors by recording IR (kgraph's ops record themselves), and on KerasTensors by joining the Functional
graph as a node, as Keras' `symbolic_call` does.
"""

from __future__ import annotations

import inspect
from typing import Any

from kgraph import tree
from kgraph.keras_tensor import KerasTensor
from kgraph.layers.layer import Layer, snake_case, unique_name
from kgraph.rematerialization import get_current_remat_mode, rematerialized_call
from kgraph.symbolic_scope import SymbolicScope
from kgraph.tracing import SymbolicTensor, Trace

__all__ = ["Operation"]

_CONFIG_TYPES = (str, int, float, bool, type(None))


def _auto_config(cls, args: tuple, kwargs: dict) -> dict | None:
    """The constructor arguments as a config, as Keras records them, or None where one is not serializable."""
    signature = inspect.signature(cls.__init__)
    try:
        bound = signature.bind(None, *args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.pop(next(iter(signature.parameters)))
    for name, parameter in signature.parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(arguments.pop(name, {}))
        elif parameter.kind is inspect.Parameter.VAR_POSITIONAL and arguments.pop(name, ()):
            return None
        elif parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            return None
    arguments.pop("name", None)
    try:
        leaves = tree.flatten(arguments)
    except TypeError:
        return None
    return arguments if all(isinstance(leaf, _CONFIG_TYPES) for leaf in leaves) else None


class _OperationNode(Layer):
    """The Functional-graph node of an Operation called on KerasTensors; like Keras' ops it does not autocast."""

    _convert_input_args = False

    def __init__(self, operation: "Operation"):
        super().__init__(name=operation.name, autocast=False)
        self.operation = operation

    def call(self, *args, **kwargs):
        return self.operation.call(*args, **kwargs)


class Operation:
    """A stateless computation: subclass it and implement `call` (with `kgraph.ops`), optionally
    `compute_output_spec`.

    Args:
        name: The operation's name; unique by default (from the class name), and without "/".
    """

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        instance._auto_config = _auto_config(cls, args, kwargs)
        return instance

    def __init__(self, name: str | None = None):
        if name is None:
            name = unique_name(snake_case(type(self).__name__))
        if not isinstance(name, str) or "/" in name:
            raise ValueError("Argument `name` must be a string and cannot contain character `/`. "
                             f"Received: name={name} (of type {type(name)})")
        self.name = name
        self._node_layer: _OperationNode | None = None
        self._remat_mode = get_current_remat_mode()

    def __call__(self, *args, **kwargs):
        if any(isinstance(x, KerasTensor) for x in tree.flatten([list(args), kwargs])):
            return self.symbolic_call(*args, **kwargs)
        return rematerialized_call(self, self.call)(*args, **kwargs)

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement `call`")

    def symbolic_call(self, *args, **kwargs):
        """Calls the operation on KerasTensors: returns output KerasTensors recorded as a Functional-graph node."""
        if self._node_layer is None:
            self._node_layer = _OperationNode(self)
        return self._node_layer(*args, **kwargs)

    def compute_output_spec(self, *args, **kwargs):
        """The outputs' shapes and dtypes as KerasTensors, found by tracing `call` once on symbolic inputs."""
        with Trace(f"{self.name}_spec") as trace, SymbolicScope():
            def to_symbolic(x):
                return trace.input(x.ir_type(), x.name or "input") if isinstance(x, KerasTensor) else x

            try:
                outputs = self.call(*tree.map_structure(to_symbolic, list(args)),
                                    **tree.map_structure(to_symbolic, kwargs))
            except (TypeError, ValueError) as error:
                raise type(error)(f"Could not automatically infer the output shape / dtype of {self.name!r} (of type "
                                  f"{type(self).__name__}). Either the `{type(self).__name__}.call()` method is "
                                  "incorrect, or you need to implement the `compute_output_spec()` method. Error "
                                  f"encountered:\n\n{error}") from None
        return tree.map_structure(
            lambda t: KerasTensor.from_ir_type(t.type) if isinstance(t, SymbolicTensor) else t, outputs)

    def get_config(self) -> dict[str, Any]:
        """`{"name": ...}` plus the constructor arguments, recorded automatically when they are plain values."""
        config = {"name": self.name}
        if type(self).get_config is not Operation.get_config:
            return config
        if self._auto_config is None:
            raise NotImplementedError(f"Object {type(self).__name__} was created by passing non-serializable "
                                      "argument values (or positional-only or variadic arguments) in `__init__()`, "
                                      "and therefore the object must override `get_config()` in order to be "
                                      "serializable.")
        config.update(self._auto_config)
        parameters = inspect.signature(self.__init__).parameters
        takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        if "name" not in parameters and not takes_kwargs:
            config.pop("name")
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Operation":
        """Creates an operation from its config (the reverse of `get_config`)."""
        try:
            return cls(**config)
        except TypeError as error:
            raise TypeError(f"Error when deserializing class '{cls.__name__}' using config={config}.\n\n"
                            f"Exception encountered: {error}") from None

    def __repr__(self) -> str:
        return f"<Operation name={self.name}>"
