"""ScheduleFreeAdamW: schedule-free AdamW (interpolation and averaging instead of a learning-rate schedule)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import optax

from kgraph.optimizers.optimizer import Optimizer, check_float
from kgraph.optimizers.rule import per_variable_rule


class ScheduleFreeAdamW(Optimizer):
    """Schedule-Free AdamW, as `keras.optimizers.ScheduleFreeAdamW`: gradient steps go to a `momentum` sequence
    (initialized to the weights), the averaged sequence `x` is recovered from it, and the model's variables hold
    their interpolation `y` during and after training, as in Keras 3.15.

    Args:
        learning_rate: Float >= 0 or a schedule. Defaults to `0.0025`.
        beta_1: Interpolation between `momentum` and `x`. Defaults to `0.9`.
        beta_2: Decay of the second-moment estimate. Defaults to `0.999`.
        epsilon: Added to the denominator. Defaults to `1e-8`.
        warmup_steps: Steps over which the learning rate rises linearly from 0. Defaults to `0`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`, `use_ema` and `name`.
    """

    def __init__(self, learning_rate: float = 0.0025, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, warmup_steps: int = 0, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = check_float("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = check_float("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = check_float("epsilon", epsilon)
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(f"Argument `warmup_steps` must be an integer >= 0. Received: warmup_steps={warmup_steps!r}")
        self.warmup_steps = warmup_steps

    def _update_rule(self) -> optax.GradientTransformationExtraArgs:
        beta_1, beta_2, epsilon, warmup_steps = self.beta_1, self.beta_2, self.epsilon, self.warmup_steps

        def step(g, y_old, slots, lr, t):
            momentum_old, velocity = slots
            if warmup_steps > 0:
                lr = lr * jnp.minimum(t / warmup_steps, 1.0)
            velocity = velocity + (jnp.square(g) - velocity) * (1 - beta_2)
            denom = jnp.sqrt(velocity / (1 - jnp.power(jnp.asarray(beta_2, y_old.dtype), t))) + epsilon
            momentum = momentum_old - (lr * g) / denom
            weight = 1.0 / t
            x_old = (y_old - (1 - beta_1) * momentum_old) / beta_1
            x_new = (1 - weight) * x_old + weight * momentum
            y_new = (1 - beta_1) * momentum + beta_1 * x_new
            return y_new - y_old, (momentum, velocity)

        return per_variable_rule(lambda p: (jnp.array(p), jnp.zeros_like(p)), step)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "warmup_steps": self.warmup_steps}
