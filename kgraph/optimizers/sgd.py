"""SGD with optional (Nesterov) momentum, with Keras 3's exact update rule."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from kgraph.optimizers.optimizer import Optimizer, check_float


class SGDSlots(NamedTuple):
    """One velocity per variable; empty when `momentum` is 0 (Keras creates none then)."""

    momentums: list[jax.Array]


def sgd_rule(momentum: float, nesterov: bool) -> optax.GradientTransformationExtraArgs:
    """Keras' SGD: `velocity = momentum * velocity - lr * g`, then `w += velocity`.

    The velocity carries the learning rate (unlike `optax.trace`), so a learning
    rate change affects only new gradients, exactly as in Keras.
    """

    def init(params: list[jax.Array]) -> SGDSlots:
        return SGDSlots([jnp.zeros_like(p) for p in params] if momentum != 0 else [])

    def update(grads, slots, params, *, learning_rate, iterations):
        del iterations
        updates, momentums = [], []
        for i, (g, p) in enumerate(zip(grads, params)):
            lr = learning_rate.astype(p.dtype)
            g = g.astype(p.dtype)
            if momentum == 0:
                updates.append(-(g * lr))
                continue
            mom = jnp.asarray(momentum, p.dtype)
            m = slots.momentums[i] * mom - g * lr
            momentums.append(m)
            updates.append(m * mom - g * lr if nesterov else m)
        return updates, SGDSlots(momentums)

    return optax.GradientTransformationExtraArgs(init, update)


class SGD(Optimizer):
    """Gradient descent with optional momentum, matching `keras.optimizers.SGD`.

    Args:
        learning_rate: Float >= 0. Defaults to `0.01`.
        momentum: Float in [0, 1] that accelerates descent along consistent
            directions. 0 is vanilla gradient descent. Defaults to `0.0`.
        nesterov: Whether to apply Nesterov momentum. Defaults to `False`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`
            and `name`, as in `kgraph.optimizers.Optimizer`.
    """

    def __init__(
        self,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = check_float("momentum", momentum, 0.0, 1.0)
        self.nesterov = bool(nesterov)

    def _update_rule(self) -> optax.GradientTransformationExtraArgs:
        return sgd_rule(self.momentum, self.nesterov)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
