"""Base optimizer: Keras 3 optimizer semantics as a pure, jittable optax update.

An optimizer holds only hyperparameters; everything that changes during
training (the step counter, the learning rate and the optax slot state) lives
in a state pytree, so `stateless_apply` can run inside `jax.jit` and the
learning rate can change between steps without recompiling.
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import optax

from kgraph.backend.naming import get_uid
from kgraph.optimizers.schedules import learning_rate_schedule as schedules

# Keras-only constructor arguments, accepted when they hold the Keras default
# (which makes them inert) so that Keras-written code and configs load.
_INERT_KERAS_ARGS = {
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def _auto_name(class_name: str) -> str:
    """Return a unique snake_case name, as Keras does: `adam`, `adam_1`, ..."""
    base = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    base = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", base).lower()
    count = get_uid(base) - 1
    return base if count == 0 else f"{base}_{count}"


def check_float(name: str, value: Any, low: float = 0.0, high: float | None = None) -> float:
    """Return `value` as a float, raising if it is not a real number in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Argument `{name}` must be a float. Received: {name}={value!r}")
    value = float(value)
    upper = math.inf if high is None else high
    if not low <= value <= upper:
        bounds = f">= {low:g}" if high is None else f"between [{low:g}, {high:g}]"
        raise ValueError(f"Argument `{name}` must be a float {bounds}. Received: {name}={value!r}")
    return value


def _check_learning_rate(value: Any) -> float:
    """A float learning rate >= 0; the error also names the other accepted kind, a schedule."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            "Argument `learning_rate` should be a float or an instance of "
            f"`kgraph.optimizers.schedules.LearningRateSchedule`. Received: learning_rate={value!r}"
        )
    return check_float("learning_rate", value)


def _clip_by_norm(grad: jax.Array, clipnorm: float) -> jax.Array:
    """Scale one gradient so that its L2 norm is at most `clipnorm` (Keras' formula)."""
    norm = jnp.sqrt(jnp.sum(jnp.square(grad)))
    return grad * clipnorm / jnp.maximum(norm, clipnorm)


def _clip_by_global_norm(grads: list[jax.Array], clipnorm: float) -> list[jax.Array]:
    """Scale all gradients together so that their joint L2 norm is at most `clipnorm`."""
    norm = jnp.sqrt(jnp.sum(jnp.stack([jnp.sum(jnp.square(g)) for g in grads])))
    # `norm - norm` turns the scale into NaN when the norm is not finite, as in Keras.
    scale = clipnorm * jnp.minimum(1.0 / norm, 1.0 / clipnorm) + (norm - norm)
    return [g * scale for g in grads]


class Optimizer:
    """Base class of kgraph optimizers; subclasses supply the update rule.

    Subclasses implement `_update_rule`, returning an optax transformation
    whose `update(grads, slots, params, *, learning_rate, iterations)` gives
    the additive updates for one step, and extend `get_config`.

    Args:
        learning_rate: Float >= 0, or a `LearningRateSchedule` evaluated at every step from `iterations`.
        weight_decay: Float >= 0 or `None`. If set, each variable is decayed
            by `variable * weight_decay * learning_rate` before the step.
        clipnorm: Float or `None`. If set, the gradient of each variable is
            clipped so that its L2 norm is at most this value (0 disables it,
            as in Keras).
        clipvalue: Float or `None`. If set, gradients are clipped elementwise
            to `[-clipvalue, clipvalue]`.
        global_clipnorm: Float or `None`. If set, all gradients are scaled
            together so that their joint L2 norm is at most this value.
        use_ema: Whether to keep an exponential moving average of the trained
            variables (in the state, after the learning rate), which
            `finalize_variable_values` (at the end of `fit`) writes into them.
        ema_momentum: Float in [0, 1]: `average = ema_momentum * average +
            (1 - ema_momentum) * variable` after each step (the first step
            copies the variable).
        ema_overwrite_frequency: Int >= 1 or `None`: every this many steps the
            variables are overwritten by their averages.
        name: String. Defaults to the snake_case class name, made unique.
    """

    def __init__(
        self,
        learning_rate: float,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        unexpected = {k: v for k, v in kwargs.items() if _INERT_KERAS_ARGS.get(k, object()) != v}
        if unexpected:
            listed = ", ".join(f"{k}={v!r}" for k, v in unexpected.items())
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword argument(s): {listed}. "
                f"Keras' {', '.join(_INERT_KERAS_ARGS)} are accepted only at their defaults."
            )
        clip_args = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        if sum(v is not None for v in clip_args.values()) > 1:
            received = ", ".join(f"{k}={v}" for k, v in clip_args.items())
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: {received}"
            )
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            self._schedule, self._learning_rate = learning_rate, None
        else:
            self._schedule, self._learning_rate = None, _check_learning_rate(learning_rate)
        self.weight_decay = None if weight_decay is None else check_float("weight_decay", weight_decay)
        self.clipnorm, self.clipvalue, self.global_clipnorm = (
            None if v is None else check_float(k, v) for k, v in clip_args.items()
        )
        self.use_ema = bool(use_ema)
        if self.use_ema:
            ema_momentum = check_float("ema_momentum", ema_momentum, 0.0, 1.0)
            if ema_overwrite_frequency is not None and (
                    isinstance(ema_overwrite_frequency, bool) or not isinstance(ema_overwrite_frequency, int)
                    or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                                 f"ema_overwrite_frequency={ema_overwrite_frequency!r}")
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.name = name if name is not None else _auto_name(type(self).__name__)
        self.state: dict[str, Any] | None = None
        self._constraints: list = []
        self._trainable_variables: list = []

    def _update_rule(self) -> optax.GradientTransformationExtraArgs:
        """Return the optimizer's own update as an optax transformation."""
        raise NotImplementedError(f"{type(self).__name__} must implement `_update_rule`.")

    def _transformation(self) -> optax.GradientTransformationExtraArgs:
        """Chain gradient clipping (if any) with the update rule."""
        if self.clipnorm:
            clipnorm = self.clipnorm
            clip = optax.stateless_with_tree_map(lambda g, _: _clip_by_norm(g, clipnorm))
        elif self.global_clipnorm:
            global_clipnorm = self.global_clipnorm
            clip = optax.stateless(lambda grads, _: _clip_by_global_norm(grads, global_clipnorm))
        elif self.clipvalue:
            clip = optax.clip(self.clipvalue)
        else:
            clip = optax.identity()
        return optax.chain(clip, self._update_rule())

    def init(self, params: list[jax.Array]) -> dict[str, Any]:
        """Return a fresh optimizer state for `params`: step 0, the current learning rate, zero slots."""
        return {
            "iterations": jnp.zeros((), jnp.int32),
            "learning_rate": jnp.asarray(self.learning_rate if self._schedule is None
                                         else self._schedule(jnp.zeros((), jnp.int32)), jnp.float32),
            "slots": self._transformation().init(list(params)),
            **({"model_variables_moving_average": [jnp.zeros_like(p) for p in params]} if self.use_ema else {}),
        }

    def stateless_scale_loss(self, state: dict[str, Any], loss: jax.Array) -> jax.Array:
        """The loss a compiled step differentiates; a `LossScaleOptimizer` scales it, others leave it as is."""
        return loss

    def stateless_apply(self, optimizer_variables, grads: list, trainable_variables: list) -> tuple[list, Any]:
        """Applies one step of gradients as a pure, jittable function. Returns `(new_trainable, new_optimizer)`.

        Args:
            optimizer_variables: the optimizer's state: a list in `optimizer.variables` order (as Keras takes
                it), or the state dict kgraph's compiled steps carry; the result has the same form.
            grads: one gradient per trainable variable.
            trainable_variables: the variables' current values (arrays or Variables).
        """
        params = [getattr(p, "value", p) for p in trainable_variables]
        grads = list(grads)
        if len(grads) != len(params):
            raise ValueError(
                f"Expected one gradient per variable. Received {len(grads)} gradients "
                f"for {len(params)} variables."
            )
        if isinstance(optimizer_variables, dict):
            return self._apply(optimizer_variables, grads, params)
        new_params, new_state = self._apply(self._state_from_variables(optimizer_variables, params), grads, params)
        return new_params, self._variables_of(new_state)

    def _apply(self, state: dict[str, Any], grads: list, params: list) -> tuple[list, dict[str, Any]]:
        iterations = state["iterations"]
        if self._schedule is None:
            learning_rate = jnp.asarray(state["learning_rate"], jnp.float32)
        else:
            learning_rate = jnp.asarray(self._schedule(iterations), jnp.float32)
        params = self._apply_weight_decay(params, learning_rate)
        updates, slots = self._transformation().update(
            grads, state["slots"], params, learning_rate=learning_rate, iterations=iterations
        )
        if self._schedule is not None:  # the state holds the rate the next step uses, as without a schedule
            learning_rate = jnp.asarray(self._schedule(iterations + 1), jnp.float32)
        new_state = {"iterations": iterations + 1, "learning_rate": learning_rate, "slots": slots}
        params = optax.apply_updates(params, updates)
        if self.use_ema:
            params, new_state["model_variables_moving_average"] = self._moving_average(
                params, state["model_variables_moving_average"], iterations)
        return self._constrained(params), new_state

    def _moving_average(self, params: list[jax.Array], averages: list[jax.Array], iterations: jax.Array):
        """Keras' EMA after a step: the new averages, and the variables overwritten by them every
        `ema_overwrite_frequency` steps."""
        averages = [
            (momentum := (iterations != 0).astype(p.dtype) * jnp.asarray(self.ema_momentum, p.dtype)) * a
            + (1 - momentum) * p
            for p, a in zip(params, averages)
        ]
        if self.ema_overwrite_frequency:
            overwrite = (iterations + 1) % self.ema_overwrite_frequency == 0
            params = [jnp.where(overwrite, a, p) for p, a in zip(params, averages)]
        return params, averages

    def finalize_variable_values(self, var_list: list) -> None:
        """With `use_ema`, writes the moving averages into `var_list` (the trained variables, in order)."""
        if not self.use_ema or self.state is None:
            return
        averages = self.state["model_variables_moving_average"]
        if len(var_list) != len(averages):
            raise ValueError(f"The length of model variables ({len(var_list)}) to override does not match the length "
                             f"of model variables stored in the optimizer ({len(averages)}). Please check if the "
                             "optimizer was called on your model.")
        for variable, average in zip(var_list, averages):
            variable.assign(average)

    def _apply_weight_decay(self, params: list[jax.Array], learning_rate: jax.Array) -> list[jax.Array]:
        """Decays each variable by `variable * weight_decay * learning_rate` before the step, as Keras does."""
        if self.weight_decay is None:
            return params
        return [p - p * jnp.asarray(self.weight_decay, p.dtype) * learning_rate.astype(p.dtype) for p in params]

    def _variables_of(self, state: dict[str, Any]) -> list:
        """The state as Keras lists an optimizer's variables: iterations, learning rate (not with a schedule),
        the moving averages (with `use_ema`), then the slots."""
        head = [state["iterations"]] if self._schedule is not None else [state["iterations"], state["learning_rate"]]
        return head + list(state.get("model_variables_moving_average", [])) + jax.tree.leaves(state["slots"])

    def _state_from_variables(self, values, params: list) -> dict[str, Any]:
        """The state dict from values in `variables` order, for the trainable `params` they belong to."""
        values = [getattr(v, "value", v) for v in values]
        specs = [jax.ShapeDtypeStruct(jnp.shape(p), jnp.result_type(p)) for p in params]
        slots = jax.tree.structure(jax.eval_shape(self._transformation().init, specs))
        head = 1 if self._schedule is not None else 2
        averages = len(params) if self.use_ema else 0
        if len(values) != head + averages + slots.num_leaves:
            raise ValueError(
                f"{type(self).__name__}.stateless_apply: `optimizer_variables` must hold the "
                f"{head + averages + slots.num_leaves} "
                f"values of `optimizer.variables` for these {len(params)} trainable variables; received "
                f"{len(values)}. Call `optimizer.build(trainable_variables)` and pass `optimizer.variables`."
            )
        iterations = values[0]
        learning_rate = values[1] if head == 2 else self._schedule(iterations)
        state = {"iterations": iterations, "learning_rate": learning_rate,
                 "slots": jax.tree.unflatten(slots, values[head + averages:])}
        if self.use_ema:
            state["model_variables_moving_average"] = values[head:head + averages]
        return state

    def track_constraints(self, variables: list) -> None:
        """Records each variable's `constraint`, which every later step applies to that variable's new value
        (Keras' rule); `variables` are in the order of the `params` the steps receive."""
        self._constraints = [getattr(v, "constraint", None) for v in variables]
        self._trainable_variables = list(variables)

    def _constrained(self, params: list[jax.Array]) -> list[jax.Array]:
        if not any(c is not None for c in self._constraints):
            return params
        if len(self._constraints) != len(params):
            raise ValueError(
                f"{type(self).__name__} tracks constraints for {len(self._constraints)} variables but the step "
                f"updates {len(params)}; call `track_constraints` (or `build`) with the variables being trained."
            )
        return [p if c is None else jnp.asarray(c(p), p.dtype) for c, p in zip(self._constraints, params)]

    def build(self, params: list) -> None:
        """Create the optimizer state for `params` (arrays, or Variables whose constraints the steps then apply)
        and keep it in `self.state`."""
        if any(hasattr(p, "constraint") for p in params):
            self.track_constraints(params)
        self.state = self.init([getattr(p, "value", p) for p in params])

    @property
    def built(self) -> bool:
        """Whether `build` has created the state."""
        return self.state is not None

    @property
    def learning_rate(self) -> float:
        """The learning rate the next step uses (a schedule's value at the current `iterations`)."""
        if self._schedule is not None:
            return float(self._schedule(jnp.asarray(self.iterations, jnp.int32)))
        if self.state is None:
            return self._learning_rate
        return float(self.state["learning_rate"])

    @learning_rate.setter
    def learning_rate(self, value: float | schedules.LearningRateSchedule) -> None:
        if isinstance(value, schedules.LearningRateSchedule):
            if self.state is not None:
                raise ValueError(
                    f"{type(self).__name__} has already trained (its state is built), so its compiled step "
                    "reads a float learning rate; set a `LearningRateSchedule` before the first `fit`, or "
                    f"create a new optimizer with it. Received: learning_rate={value!r}"
                )
            self._schedule, self._learning_rate = value, None
            return
        if self._schedule is not None:
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
                "constructor argument, hence its learning rate is not settable. If you need the learning "
                "rate to be settable, you should instantiate the optimizer with a float `learning_rate` argument."
            )
        self._learning_rate = _check_learning_rate(value)
        if self.state is not None:
            self.state = {**self.state, "learning_rate": jnp.asarray(self._learning_rate, jnp.float32)}

    @property
    def iterations(self) -> int:
        """Number of steps applied since the state was built."""
        return 0 if self.state is None else int(self.state["iterations"])

    @property
    def variables(self) -> list[jax.Array]:
        """The state's arrays in Keras' order: iterations, learning rate (not with a schedule), then the slots."""
        return [] if self.state is None else self._variables_of(self.state)

    # --- saving hooks: Keras' protocol, called by kgraph.saving with the `optimizer` group of a weights file ---
    def _obj_type(self) -> str:
        return "Optimizer"

    def save_own_variables(self, store) -> None:
        """Writes the state as Keras lists an optimizer's variables: iterations, learning rate, then the slots."""
        leaves = jax.tree.leaves(self.state) if self.state is not None else \
            [jnp.zeros((), jnp.int32), jnp.asarray(self.learning_rate, jnp.float32)]
        for i, leaf in enumerate(leaves):
            store[str(i)] = leaf

    def load_own_variables(self, store) -> None:
        """Restores the state `save_own_variables` (or Keras) wrote. A state saved before the first step holds
        nothing to restore; one for other variables warns and leaves training to start from a fresh state."""
        count = len(store.keys())
        template = self.state if self.state is not None else self._state_template()
        if count == 0 or template is None:
            return
        leaves, treedef = jax.tree_util.tree_flatten(template)
        if count == 2 and len(leaves) != 2 and int(store["0"]) == 0:
            return
        saved = [store[str(i)] for i in range(count)]
        problem = None
        if count != len(leaves):
            problem = f"it has {len(leaves)} variables, the file has {count}"
        else:
            for i, (value, leaf) in enumerate(zip(saved, leaves)):
                if tuple(value.shape) != tuple(leaf.shape):
                    problem = f"its variable {i} has shape {tuple(leaf.shape)}, the file has {tuple(value.shape)}"
                    break
        if problem is not None:
            warnings.warn(f"Not loading the state of optimizer {self.name!r}: {problem}. Training starts with a "
                          "fresh optimizer state.", stacklevel=2)
            return
        self.state = jax.tree_util.tree_unflatten(
            treedef, [jnp.asarray(value, dtype=leaf.dtype) for value, leaf in zip(saved, leaves)])

    def _state_template(self):
        """The shapes of the state this optimizer will have for the variables its model trains (None if unknown)."""
        source = getattr(self, "_variables_for_state", None)
        variables = source() if source is not None else None
        if variables is None:
            return None
        self.track_constraints(variables)  # optimizers that route variables by path (Muon, MultiOptimizer) read them
        return jax.eval_shape(self.init, [v.value for v in variables])

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments that recreate this optimizer (without its state)."""
        return {
            "name": self.name,
            "learning_rate": self.learning_rate if self._schedule is None else schedules.serialize(self._schedule),
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        """Create an optimizer from the output of `get_config` (Keras configs included)."""
        if isinstance(config.get("learning_rate"), dict):
            config = {**config, "learning_rate": schedules.deserialize(config["learning_rate"])}
        return cls(**config)

    def __repr__(self) -> str:
        rate = f"{self.learning_rate:g}" if self._schedule is None else repr(self._schedule)
        return f"<{type(self).__name__} name={self.name!r} learning_rate={rate}>"
