"""LossScaleOptimizer: Keras 3's dynamic loss scaling for float16 training, as a pure update of the step state.

The compiled train step takes gradients of `loss * scale` (`stateless_scale_loss`); `stateless_apply` then
divides them by the scale and applies the inner optimizer, or, when any gradient is not finite, skips the update
and halves the scale. After `dynamic_growth_steps` finite steps in a row the scale doubles.
"""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp

from kgraph.optimizers.optimizer import Optimizer

_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                  "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                  "loss_scale_factor": None, "gradient_accumulation_steps": None}


class LossScaleOptimizer(Optimizer):
    """An optimizer that dynamically scales the loss to keep float16 gradients from underflowing.

    Args:
        inner_optimizer: the optimizer that applies the unscaled gradients.
        initial_scale: the starting loss scale; high, since a too-high scale falls fast and a too-low one
            rises slowly.
        dynamic_growth_steps: after this many steps in a row with finite gradients, the scale doubles.
        name: the optimizer's name.
    """

    def __init__(self, inner_optimizer: Optimizer, initial_scale: float = 2.0 ** 15,
                 dynamic_growth_steps: int = 2000, name: str | None = None, **kwargs: Any) -> None:
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, simply set "
                             "`loss_scale_factor` directly on the `inner_optimizer`.")
        for arg, default in _BASE_DEFAULTS.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ValueError(f"LossScaleOptimizer does not support `{arg}`. Instead, set `{arg}` on the "
                                 "`inner_optimizer`.")
        if kwargs:
            raise ValueError(f"LossScaleOptimizer does not support arguments: `{'`, `'.join(kwargs)}`.")
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError(f"`inner_optimizer` must be a kgraph Optimizer. Received: {inner_optimizer!r}")
        if isinstance(dynamic_growth_steps, bool) or not isinstance(dynamic_growth_steps, int) \
                or dynamic_growth_steps < 1:
            raise ValueError(f"`dynamic_growth_steps` must be a positive int. Received: {dynamic_growth_steps!r}")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = dynamic_growth_steps

    @property
    def state(self) -> dict[str, Any] | None:
        """The step state; its "inner" part is also the inner optimizer's state (which Keras saves on its own)."""
        return self._state

    @state.setter
    def state(self, value: dict[str, Any] | None) -> None:
        self._state = value
        if "inner_optimizer" in self.__dict__:
            self.inner_optimizer.state = None if value is None else value["inner"]

    def init(self, params: list[jax.Array]) -> dict[str, Any]:
        """The state: Keras' own variables of this optimizer (its never-advanced iterations and zero learning
        rate, the growth counter and the scale), then the inner optimizer's state."""
        return {"iterations": jnp.zeros((), jnp.int32), "learning_rate": jnp.zeros((), jnp.float32),
                "step_counter": jnp.zeros((), jnp.int32),
                "dynamic_scale": jnp.asarray(self.initial_scale, jnp.float32),
                "inner": self.inner_optimizer.init(params)}

    def stateless_scale_loss(self, state: dict[str, Any], loss: jax.Array) -> jax.Array:
        """The loss multiplied by the current scale: the compiled step differentiates this one."""
        return loss * state["dynamic_scale"].astype(loss.dtype)

    def stateless_apply(self, state: dict[str, Any], grads: list[jax.Array], params: list[jax.Array]):
        """Unscale and apply when every gradient is finite (doubling the scale after enough such steps);
        otherwise keep the weights and halve the scale. Pure and jittable."""
        grads, params = list(grads), list(params)
        scale, counter = state["dynamic_scale"], state["step_counter"]
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(g)) for g in grads])) if grads else jnp.bool_(True)

        def apply(_):
            unscaled = [g / scale.astype(g.dtype) for g in grads]
            new_params, inner = self.inner_optimizer.stateless_apply(state["inner"], unscaled, params)
            grow = counter == self.dynamic_growth_steps - 1
            return new_params, {**state, "inner": inner, "step_counter": jnp.where(grow, 0, counter + 1),
                                "dynamic_scale": jnp.where(grow, scale * 2.0, scale)}

        def skip(_):
            return params, {**state, "step_counter": jnp.zeros_like(counter), "dynamic_scale": scale * 0.5}

        return jax.lax.cond(finite, apply, skip, None)

    def scale_loss(self, loss):
        """`loss` times the current scale (`initial_scale` before the state is built), as Keras' `scale_loss`."""
        return loss * (self.dynamic_scale if self.built else self.initial_scale)

    @property
    def dynamic_scale(self) -> float:
        """The current loss scale."""
        return self.initial_scale if self.state is None else float(self.state["dynamic_scale"])

    @property
    def step_counter(self) -> int:
        """Finite steps since the scale last changed."""
        return 0 if self.state is None else int(self.state["step_counter"])

    def track_constraints(self, variables: list) -> None:
        self.inner_optimizer.track_constraints(variables)

    @property
    def learning_rate(self) -> float:
        """The inner optimizer's learning rate."""
        if self.state is None:
            return self.inner_optimizer.learning_rate
        return float(self.state["inner"]["learning_rate"])

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if not hasattr(self, "inner_optimizer"):
            return
        self.inner_optimizer.learning_rate = value
        if self.state is not None:
            inner = {**self.state["inner"], "learning_rate": jnp.asarray(value, jnp.float32)}
            self.state = {**self.state, "inner": inner}

    @property
    def iterations(self) -> int:
        """The inner optimizer's step count: skipped steps do not count."""
        return 0 if self.state is None else int(self.state["inner"]["iterations"])

    def _ordered(self, state: dict[str, Any]) -> list:
        """The state's arrays in Keras' `variables` order: own four, then the inner optimizer's."""
        own = [state[k] for k in ("iterations", "learning_rate", "step_counter", "dynamic_scale")]
        return own + jax.tree.leaves(state["inner"])

    @property
    def variables(self) -> list[jax.Array]:
        return [] if self.state is None else self._ordered(self.state)

    def save_own_variables(self, store) -> None:
        """Writes the state in Keras' order (`variables`), so `.keras` files cross both ways."""
        if self.state is None:
            super().save_own_variables(store)
            return
        for i, leaf in enumerate(self._ordered(self.state)):
            store[str(i)] = leaf

    def load_own_variables(self, store) -> None:
        """Restores what `save_own_variables` (or Keras) wrote, in Keras' order; a state for other variables
        warns and leaves training to start from a fresh state."""
        template = self.state if self.state is not None else self._state_template()
        count = len(store.keys())
        if count == 0 or template is None or (count == 2 and int(store["0"]) == 0):
            return
        leaves = self._ordered(template)
        if count != len(leaves) or any(tuple(store[str(i)].shape) != tuple(leaf.shape)
                                       for i, leaf in enumerate(leaves)):
            warnings.warn(f"Not loading the state of optimizer {self.name!r}: it has {len(leaves)} variables, the "
                          f"file has {count} of other shapes. Training starts with a fresh optimizer state.",
                          stacklevel=2)
            return
        values = [jnp.asarray(store[str(i)], dtype=leaf.dtype) for i, leaf in enumerate(leaves)]
        inner = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(template["inner"]), values[4:])
        self.state = {"iterations": values[0], "learning_rate": values[1], "step_counter": values[2],
                      "dynamic_scale": values[3], "inner": inner}

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "inner_optimizer": _serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LossScaleOptimizer":
        config = dict(config)
        inner = config.pop("inner_optimizer")
        return cls(_deserialize(inner) if isinstance(inner, dict) else inner, **config)

    def __repr__(self) -> str:
        return f"<LossScaleOptimizer name={self.name!r} inner={self.inner_optimizer!r}>"


def _serialize(optimizer: Optimizer) -> dict[str, Any]:
    """An optimizer's config in Keras' form (module, class_name, config, registered_name)."""
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def _deserialize(config: dict[str, Any]) -> Optimizer:
    from_name = _OPTIMIZERS.get(str(config.get("class_name", "")).lower())
    if from_name is None:
        raise ValueError(f"Could not interpret the inner optimizer of a LossScaleOptimizer: {config!r}")
    return from_name.from_config(dict(config.get("config") or {}))


_OPTIMIZERS: dict[str, type[Optimizer]] = {}


def register_inner(classes: dict[str, type[Optimizer]]) -> None:
    """Sets the optimizer classes inner optimizers' configs name (given by `kgraph.optimizers`)."""
    _OPTIMIZERS.update(classes)
