"""Per-variable update rules as optax transformations: how most Keras optimizers are written."""

from __future__ import annotations

from typing import Callable

import jax
import optax

# step(gradient, variable, slots, learning_rate, local_step) -> (update added to the variable, new slots);
# every argument is already in the variable's dtype and `local_step` is `iterations + 1`.
Step = Callable[[jax.Array, jax.Array, tuple, jax.Array, jax.Array], tuple[jax.Array, tuple]]


def per_variable_rule(init_slots: Callable[[jax.Array], tuple], step: Step) -> optax.GradientTransformationExtraArgs:
    """An optax transformation applying `step` to each variable; the slots are kept per variable, in Keras'
    variable order."""

    def init(params: list[jax.Array]) -> list[tuple]:
        return [tuple(init_slots(p)) for p in params]

    def update(grads, slots, params, *, learning_rate, iterations):
        updates, new_slots = [], []
        for g, p, s in zip(grads, params, slots):
            dtype = p.dtype
            delta, s = step(g.astype(dtype), p, s, learning_rate.astype(dtype), (iterations + 1).astype(dtype))
            updates.append(delta)
            new_slots.append(tuple(s))
        return updates, new_slots

    return optax.GradientTransformationExtraArgs(init, update)
