"""Keras' top-level scopes: `device` placement, `StatelessScope` (variable assignments recorded, not applied) and
`name_scope` (variable paths)."""

from __future__ import annotations

import jax

from kgraph.paths import name_scope
from kgraph.variables import StateScope, Variable

__all__ = ["StatelessScope", "device", "name_scope"]


def _jax_device(device_name) -> jax.Device:
    if isinstance(device_name, jax.Device):
        return device_name
    if not isinstance(device_name, str):
        raise ValueError("Invalid value for argument `device_name`. Expected a string like 'gpu:0' or a `jax.Device` "
                         f"instance. Received: device_name={device_name!r}")
    kind, _, index = device_name.lower().partition(":")
    try:
        devices = jax.devices(backend=kind)
    except RuntimeError:
        devices = []
    for candidate in devices:
        if candidate.platform == kind and str(candidate.id) == (index or "0"):
            return candidate
    raise ValueError(f"Device not found: {device_name!r}. Available devices: {[str(d) for d in jax.devices()]}")


def device(device_name):
    """A context manager placing the arrays created inside it on `device_name`, as `keras.device` on JAX.

    Args:
        device_name: A string `"type:index"` such as `"cpu:0"` or `"gpu:1"`, or a `jax.Device`.
    """
    return jax.default_device(_jax_device(device_name))


class StatelessScope(StateScope):
    """Inside the scope, variables read the values of `state_mapping` and assignments are recorded, not applied:
    `scope.get_current_value(variable)` gives a variable's value at the end of the block (None if untouched).

    Args:
        state_mapping: `(variable, value)` pairs giving the values the variables hold inside the scope.
        collect_losses: Keras' collection of layer losses into the scope; only `False` is supported.
        initialize_variables: kgraph initializes variables when they are created, as Keras does on exit with `True`;
            only `True` is supported.
    """

    def __init__(self, state_mapping=None, collect_losses: bool = False, initialize_variables: bool = True):
        if collect_losses:
            raise ValueError("StatelessScope(collect_losses=True) is not supported by kgraph: layer losses stay on "
                             "the layers (`layer.losses`). Received: collect_losses=True")
        if not initialize_variables:
            raise ValueError("StatelessScope(initialize_variables=False) is not supported by kgraph: variables hold "
                             "their value from creation. Received: initialize_variables=False")
        self.collect_losses = collect_losses
        self.initialize_variables = initialize_variables
        self.losses: list = []
        super().__init__()
        for variable, value in state_mapping or ():
            if not isinstance(variable, Variable):
                raise ValueError("Invalid reference variable in StatelessScope: all keys in argument `mapping` must "
                                 f"be Variable instances. Received instead: {variable}")
            array = value.value if isinstance(value, Variable) else value
            try:
                self.values[variable] = variable._checked(array, concrete=True)
            except ValueError as error:
                raise ValueError(f"Invalid variable value in StatelessScope: all values in argument `mapping` must "
                                 f"be tensors with a shape that matches the corresponding variable shape. {error}") \
                    from None

    def add_update(self, update) -> None:
        """Records `(variable, value)` as the variable's value inside the scope."""
        variable, value = update
        self.values[variable] = value

    def add_loss(self, loss) -> None:
        self.losses.append(loss)

    def get_current_value(self, variable: Variable):
        """The value `variable` holds inside the scope: mapped or assigned, else None."""
        return self.values.get(variable)
