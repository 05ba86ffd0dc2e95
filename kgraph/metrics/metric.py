"""The Metric base class: state in Variables, updated eagerly or functionally inside a compiled step.

`stateless_update_state`/`stateless_result`/`stateless_reset_state` run the same `update_state`/`result`
code under a `StateScope`, so the engine can keep metric state as plain arrays inside `jax.jit`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kgraph import config, initializers, tree
from kgraph.ir.types import canonical_dtype
from kgraph.losses.loss import to_snake_case
from kgraph.variables import StateScope, Variable


class Metric:
    """Base class of metrics: accumulate statistics with `update_state`, read them with `result`.

    Subclasses create their state with `add_variable` in `__init__` and implement `update_state` and
    `result`. Metrics assigned as attributes are tracked, and their variables join `variables`.

    Args:
        name: the metric's name; defaults to the snake_case class name.
        dtype: the dtype of the metric's computations; defaults to `kgraph.config.floatx()`.
    """

    def __init__(self, name: str | None = None, dtype=None):
        object.__setattr__(self, "_metrics", [])
        self._own_variables: list[Variable] = []
        self._initial_values: dict[Variable, Any] = {}
        self.name = name or to_snake_case(type(self).__name__)
        self._dtype = canonical_dtype(dtype or config.floatx())

    def __setattr__(self, name: str, value) -> None:
        tracked = self.__dict__.get("_metrics")
        if isinstance(value, Metric) and tracked is not None and value is not self and value not in tracked:
            tracked.append(value)
        object.__setattr__(self, name, value)

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def variables(self) -> list[Variable]:
        """This metric's variables in creation order, then those of its sub-metrics."""
        result = list(self._own_variables)
        for metric in self._metrics:
            result.extend(metric.variables)
        return result

    def add_variable(self, shape, initializer, dtype=None, aggregation: str = "sum",
                     name: str | None = None) -> Variable:
        """Creates a non-trainable state variable with path `"<metric name>/<name>"`.

        Args:
            shape: the variable's shape.
            initializer: an initializer name (e.g. "zeros"), instance or callable.
            dtype: defaults to `kgraph.config.floatx()`.
            aggregation: how replicas would combine it; accepted for Keras compatibility (kgraph runs
                metrics on one device).
            name: the variable's name.
        """
        if "_own_variables" not in self.__dict__:
            raise RuntimeError("You forgot to call `super().__init__()` in the `__init__()` method of "
                               f"{type(self).__name__}.")
        variable = Variable(initializers.get(initializer), shape=tuple(shape), dtype=dtype, trainable=False, name=name)
        variable.path = f"{self.name.replace('/', '>')}/{variable.name}"
        self._own_variables.append(variable)
        self._initial_values[variable] = np.array(variable)  # the concrete value, even inside a compiled step
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name: str | None = None) -> Variable:
        """Alias of `add_variable` (Keras keeps it for backward compatibility)."""
        return self.add_variable(shape=shape, initializer=initializer or "zeros", dtype=dtype, name=name)

    def update_state(self, *args, **kwargs) -> None:
        """Accumulates statistics from one batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement `update_state`")

    def result(self):
        """The metric's current value: a scalar (or a small tensor) computed from the state."""
        raise NotImplementedError(f"{type(self).__name__} must implement `result`")

    def reset_state(self) -> None:
        """Re-assigns every variable its initial value (sub-metrics reset themselves)."""
        for variable in self._own_variables:
            variable.assign(self._initial_values[variable])
        for metric in self._metrics:
            metric.reset_state()

    def __call__(self, *args, **kwargs):
        """`update_state(...)`, then `result()`."""
        self.update_state(*args, **kwargs)
        return self.result()

    # --- functional forms, for compiled steps ----------------------------------------------------

    def _scope(self, metric_variables: list) -> StateScope:
        variables = self.variables
        if len(metric_variables) != len(variables):
            raise ValueError(
                "Argument `metric_variables` must be a list of tensors corresponding 1:1 to "
                f"{type(self).__name__}().variables. Received list with length {len(metric_variables)}, but "
                f"expected {len(variables)} variables.")
        return StateScope(dict(zip(variables, metric_variables)))

    def stateless_update_state(self, metric_variables: list, *args, **kwargs) -> list:
        """`update_state` as a pure function: takes the variables' values, returns their new values in order."""
        with self._scope(metric_variables) as scope:
            self.update_state(*args, **kwargs)
        return [scope.values[v] for v in self.variables]

    def stateless_result(self, metric_variables: list):
        """`result` computed from the given variable values; a result that is one of the variables gives its value."""
        with self._scope(metric_variables):
            result = self.result()
            return tree.map_structure(lambda r: r.value if isinstance(r, Variable) else r, result)

    def stateless_reset_state(self) -> list:
        """The variables' values after `reset_state`, without touching the variables."""
        with StateScope() as scope:
            self.reset_state()
        return [scope.get(v) for v in self.variables]

    # --- config ----------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Metric":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"
