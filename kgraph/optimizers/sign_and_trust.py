"""Lion (sign updates) and Lamb (layer-wise trust ratio) with Keras 3's exact update rules."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import optax

from kgraph.optimizers.optimizer import Optimizer, check_float
from kgraph.optimizers.rule import per_variable_rule


class Lion(Optimizer):
    """Lion, as `keras.optimizers.Lion`: the sign of an interpolated momentum as the update.

    Args:
        learning_rate: Float >= 0. Defaults to `0.001`.
        beta_1: Float in [0, 1], the interpolation for the update. Defaults to `0.9`.
        beta_2: Float in [0, 1], the momentum's decay. Defaults to `0.99`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm` and `name`.
    """

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.99, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = check_float("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = check_float("beta_2", beta_2, 0.0, 1.0)
        if self.beta_1 <= 0 or self.beta_1 > 1:
            raise ValueError(f"Argument for `beta_1` must be in range (0, 1]. Received: beta_1={beta_1}.")

    def _update_rule(self) -> optax.GradientTransformationExtraArgs:
        beta_1, beta_2 = self.beta_1, self.beta_2

        def step(g, p, slots, lr, t):
            m = slots[0]
            b1, b2 = jnp.asarray(beta_1, p.dtype), jnp.asarray(beta_2, p.dtype)
            update = -(lr * jnp.sign(m * b1 + g * (1.0 - b1)))
            return update, (m * b2 + g * (1.0 - b2),)

        return per_variable_rule(lambda p: (jnp.zeros_like(p),), step)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Lamb(Optimizer):
    """LAMB, as `keras.optimizers.Lamb`: Adam's step scaled per variable by `||w|| / ||step||`.

    Args:
        learning_rate: Float >= 0. Defaults to `0.001`.
        beta_1: Float in [0, 1], decay of the first moment. Defaults to `0.9`.
        beta_2: Float in [0, 1], decay of the second moment. Defaults to `0.999`.
        epsilon: Float >= 0 for numerical stability. Defaults to `1e-7`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm` and `name`.
    """

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = check_float("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = check_float("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = check_float("epsilon", epsilon)

    def _update_rule(self) -> optax.GradientTransformationExtraArgs:
        beta_1, beta_2, eps = self.beta_1, self.beta_2, self.epsilon

        def step(g, p, slots, lr, t):
            m, v = slots
            beta_1_power = jnp.power(jnp.asarray(beta_1, p.dtype), t)
            beta_2_power = jnp.power(jnp.asarray(beta_2, p.dtype), t)
            m = m + (g - m) * (1 - beta_1)
            v = v + (jnp.square(g) - v) * (1 - beta_2)
            update = (m / (1.0 - beta_1_power)) / (jnp.sqrt(v / (1.0 - beta_2_power)) + eps)
            w_norm = jnp.sqrt(jnp.sum(jnp.power(p, 2)))
            g_norm = jnp.sqrt(jnp.sum(jnp.power(update, 2)))
            ratio = jnp.where(w_norm > 0, jnp.where(g_norm > 0, w_norm / g_norm, 1.0), 1.0)
            return -(ratio * lr * update), (m, v)

        return per_variable_rule(lambda p: (jnp.zeros_like(p), jnp.zeros_like(p)), step)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
