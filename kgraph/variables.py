"""Variables: named, device-resident arrays whose reads and writes follow the active scope.

Outside any scope a Variable holds a concrete array. Inside a `StateScope` (a compiled step) reads and
writes go to the scope's functional state. Inside a graph trace, reads become graph parameters and
writes become state updates. This is what lets one piece of layer or metric code serve all three.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from kgraph import config, context
from kgraph.dtype_policies import autocast
from kgraph.paths import scoped
from kgraph.ir.types import canonical_dtype
from kgraph.operators import TensorOperators
from kgraph.tracing import SymbolicTensor


_initializer_lookup: Callable[[str], Callable] | None = None


def set_initializer_lookup(lookup: Callable[[str], Callable]) -> None:
    """Sets how `Variable("glorot_uniform", shape)` finds an initializer by name.

    `kgraph.initializers` (which draws through `kgraph.random`, whose SeedGenerator holds a Variable) installs
    its `get` when it loads, so this module needs no import of it.
    """
    global _initializer_lookup
    _initializer_lookup = lookup


def _initializer_named(name: str) -> Callable:
    if _initializer_lookup is None:
        raise RuntimeError(f"initializer {name!r} was named before kgraph.initializers was loaded; import kgraph first")
    return _initializer_lookup(name)


class StateScope:
    """Maps Variables to the values they hold inside a pure function; collects assignments."""

    def __init__(self, mapping: dict["Variable", Any] | None = None):
        self.values: dict[Variable, Any] = dict(mapping or {})

    def __enter__(self) -> "StateScope":
        context.current().state_scopes.append(self)
        return self

    def __exit__(self, *exc) -> None:
        context.current().state_scopes.pop()

    def get(self, variable: "Variable") -> Any:
        return self.values.get(variable, variable._value)


def current_state_scope() -> StateScope | None:
    """The state scope of the compiled step being built on this thread, or None."""
    return context.current().state_scope


class Variable(TensorOperators):
    """A model, optimizer or metric variable.

    Args:
        initializer: an initializer (name or callable `(shape, dtype) -> array`) or an initial array.
        shape: the shape; inferred from an array initializer.
        dtype: the dtype; defaults to `kgraph.config.floatx()`.
        trainable: whether `fit` updates it with gradients.
        name: the variable's name; `path` adds its owner's name in front.
    """

    def __init__(self, initializer, shape=None, dtype=None, trainable: bool = True, name: str | None = None):
        self.name = name or "variable"
        self.path = scoped(self.name)
        self.trainable = trainable
        self.autocast = True
        if callable(initializer) or isinstance(initializer, str):
            if shape is None:
                raise ValueError(f"Variable {self.name!r}: `shape` is required with initializer {initializer!r}")
            self.dtype = canonical_dtype(dtype or config.floatx())
            init = _initializer_named(initializer) if isinstance(initializer, str) else initializer
            value = init(tuple(shape), dtype=self.dtype)
        else:
            value = np.asarray(initializer) if not hasattr(initializer, "dtype") else initializer
            self.dtype = canonical_dtype(dtype or value.dtype)
            if shape is not None and tuple(shape) != tuple(value.shape):
                raise ValueError(f"Variable {self.name!r}: initial value has shape {tuple(value.shape)}, expected {tuple(shape)}")
        self._value = jnp.asarray(value, dtype=self.dtype)
        self.shape = tuple(self._value.shape)

    @property
    def dtype(self) -> np.dtype:
        """The dtype as a NumPy dtype, which equals its name (`v.dtype == "float32"`): NumPy and JAX read an
        array-like's dtype only from a `np.dtype` (`jnp.zeros_like(v)`, `np.result_type(v)`), never from a string."""
        return self._dtype

    @dtype.setter
    def dtype(self, dtype) -> None:
        self._dtype = jnp.dtype(canonical_dtype(dtype))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def value(self):
        """The current value: a concrete array, a traced array in a compiled step, or a graph value."""
        ctx = context.current()
        if ctx.state_scope is not None:
            value = ctx.state_scope.get(self)
        elif ctx.trace is not None:
            value = ctx.trace.read_variable(self)
        else:
            value = self._value
        return autocast.maybe_cast_variable(self, value)

    def assign(self, value) -> "Variable":
        ctx = context.current()
        if ctx.state_scope is not None:
            ctx.state_scope.values[self] = self._checked(value, concrete=False)
            return self
        trace = ctx.trace
        if trace is not None and trace.is_symbolic(value):
            trace.write_variable(self, value)
            return self
        self._value = self._checked(value, concrete=True)
        return self

    def assign_add(self, delta) -> "Variable":
        return self.assign(self.value + delta)

    def assign_sub(self, delta) -> "Variable":
        return self.assign(self.value - delta)

    def _checked(self, value, concrete: bool):
        if isinstance(value, Variable):
            value = value.value
        if isinstance(value, SymbolicTensor):
            return value
        array = jnp.asarray(value, dtype=self.dtype)
        if tuple(array.shape) != self.shape:
            raise ValueError(f"Cannot assign a value of shape {tuple(array.shape)} to variable {self.path!r} of shape {self.shape}")
        return array

    def numpy(self) -> np.ndarray:
        return np.asarray(self.value)

    def __array__(self, dtype=None, copy=None):
        array = np.asarray(self._value)
        return array.astype(dtype) if dtype is not None else array

    def __repr__(self) -> str:
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}>"

    def __jax_array__(self):
        return self.value

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _register_pytree(cls)

    __hash__ = object.__hash__


def _register_pytree(cls: type) -> None:
    """Makes JAX see a Variable as its current value: `jax.jit`, `jnp` functions and `jax.tree` maps take
    Variables (as the Keras guides pass `model.trainable_variables` to a jitted step) and get arrays inside."""
    jax.tree_util.register_pytree_node(cls, lambda v: ((v.value,), None), lambda _, children: children[0])


_register_pytree(Variable)
