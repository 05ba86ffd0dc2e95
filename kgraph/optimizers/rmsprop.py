"""RMSprop with Keras 3's exact update rule (epsilon inside the square root)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from kgraph.optimizers.optimizer import Optimizer, check_float


class RMSpropSlots(NamedTuple):
    """Slots in Keras' variable order; `momentums` and `average_gradients` are
    empty unless `momentum > 0` and `centered` respectively."""

    velocities: list[jax.Array]
    momentums: list[jax.Array]
    average_gradients: list[jax.Array]


def rmsprop_rule(
    rho: float, momentum: float, epsilon: float, centered: bool
) -> optax.GradientTransformationExtraArgs:
    """Keras' RMSprop: `w -= lr * g / sqrt(v + eps)` (`v - mean(g)^2 + eps` when centered).

    Written out rather than built from `optax.scale_by_rms`: Keras keeps the
    learning rate inside the momentum accumulator and rounds in its own order,
    and this reproduces both exactly.
    """

    def init(params: list[jax.Array]) -> RMSpropSlots:
        def zeros(used: bool) -> list[jax.Array]:
            return [jnp.zeros_like(p) for p in params] if used else []

        return RMSpropSlots(zeros(True), zeros(momentum > 0), zeros(centered))

    def update(grads, slots, params, *, learning_rate, iterations):
        del iterations
        updates = []
        new = RMSpropSlots([], [], [])
        for i, (g, p) in enumerate(zip(grads, params)):
            lr = learning_rate.astype(p.dtype)
            g = g.astype(p.dtype)
            v = rho * slots.velocities[i] + (1 - rho) * jnp.square(g)
            new.velocities.append(v)
            if centered:
                avg = rho * slots.average_gradients[i] + (1 - rho) * g
                new.average_gradients.append(avg)
                denominator = v - jnp.square(avg) + epsilon
            else:
                denominator = v + epsilon
            increment = lr * g / jnp.sqrt(denominator)
            if momentum > 0:
                increment = momentum * slots.momentums[i] + increment
                new.momentums.append(increment)
            updates.append(-increment)
        return updates, new

    return optax.GradientTransformationExtraArgs(init, update)


class RMSprop(Optimizer):
    """RMSprop, matching `keras.optimizers.RMSprop`: divides the gradient by a
    running root mean square of recent gradients.

    Args:
        learning_rate: Float >= 0. Defaults to `0.001`.
        rho: Float in [0, 1], discounting factor for the old gradients.
            Defaults to `0.9`.
        momentum: Float in [0, 1]. If not 0, a plain (non-Nesterov) momentum
            accumulator is kept. Defaults to `0.0`.
        epsilon: Float >= 0 added inside the square root for numerical
            stability. Defaults to `1e-7`.
        centered: If `True`, normalize by the estimated variance of the
            gradient instead of its uncentered second moment. Defaults to
            `False`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`
            and `name`, as in `kgraph.optimizers.Optimizer`.
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = check_float("rho", rho, 0.0, 1.0)
        self.momentum = check_float("momentum", momentum, 0.0, 1.0)
        self.epsilon = check_float("epsilon", epsilon)
        self.centered = bool(centered)

    def _update_rule(self) -> optax.GradientTransformationExtraArgs:
        return rmsprop_rule(self.rho, self.momentum, self.epsilon, self.centered)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }
