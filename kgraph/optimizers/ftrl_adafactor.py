"""FTRL-Proximal and Adafactor with Keras 3's exact update rules."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import optax

from kgraph.optimizers.optimizer import Optimizer, check_float
from kgraph.optimizers.rule import per_variable_rule


class Ftrl(Optimizer):
    """Follow The Regularized Leader, as `keras.optimizers.Ftrl` (sparse, L1/L2-regularized linear models).

    Args:
        learning_rate: Float >= 0. Defaults to `0.001`.
        learning_rate_power: Float <= 0: how the learning rate decreases. Defaults to `-0.5`.
        initial_accumulator_value: Float >= 0. Defaults to `0.1`.
        l1_regularization_strength, l2_regularization_strength: Floats >= 0. Default `0.0`.
        l2_shrinkage_regularization_strength: Float >= 0, an L2 penalty on the magnitude. Defaults to `0.0`.
        beta: Float, as in the paper. Defaults to `0.0`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm` and `name`.
    """

    def __init__(self, learning_rate: float = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, l2_shrinkage_regularization_strength: float = 0.0,
                 beta: float = 0.0, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        if learning_rate_power > 0.0:
            raise ValueError("`learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = check_float("initial_accumulator_value", initial_accumulator_value)
        self.l1_regularization_strength = check_float("l1_regularization_strength", l1_regularization_strength)
        self.l2_regularization_strength = check_float("l2_regularization_strength", l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = check_float("l2_shrinkage_regularization_strength",
                                                                l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def _update_rule(self) -> optax.GradientTransformationExtraArgs:
        power, initial, beta = self.learning_rate_power, self.initial_accumulator_value, self.beta
        l1, l2, shrinkage = (self.l1_regularization_strength, self.l2_regularization_strength,
                             self.l2_shrinkage_regularization_strength)

        def step(g, p, slots, lr, t):
            accum, linear = slots
            l2_reg = l2 + beta / (2.0 * lr)
            grad_to_use = g + 2 * shrinkage * p
            new_accum = accum + jnp.square(g)
            linear = linear + grad_to_use - (jnp.power(new_accum, -power) - jnp.power(accum, -power)) / lr * p
            quadratic = jnp.power(new_accum, -power) / lr + 2 * l2_reg
            new_p = (jnp.clip(linear, -l1, l1) - linear) / quadratic
            return new_p - p, (new_accum, linear)

        return per_variable_rule(lambda p: (jnp.full_like(p, initial), jnp.zeros_like(p)), step)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}


class Adafactor(Optimizer):
    """Adafactor, as `keras.optimizers.Adafactor`: Adam-like steps with factored second moments (row and
    column means) for matrices, so the state grows with rows + columns rather than rows × columns.

    Args:
        learning_rate: Float >= 0. Defaults to `0.001`.
        beta_2_decay: Float, the decay exponent of the second-moment rate. Defaults to `-0.8`.
        epsilon_1: Float, added to squared gradients. Defaults to `1e-30`.
        epsilon_2: Float, the floor of the parameter scale. Defaults to `1e-3`.
        clip_threshold: Float, the cap on the update's RMS. Defaults to `1.0`.
        relative_step: cap a float learning rate at `1 / sqrt(step)`. Defaults to `True`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm` and `name`.
    """

    def __init__(self, learning_rate: float = 0.001, beta_2_decay: float = -0.8, epsilon_1: float = 1e-30,
                 epsilon_2: float = 1e-3, clip_threshold: float = 1.0, relative_step: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_2_decay, self.epsilon_1, self.epsilon_2 = float(beta_2_decay), float(epsilon_1), float(epsilon_2)
        self.clip_threshold, self.relative_step = float(clip_threshold), bool(relative_step)

    def _update_rule(self) -> optax.GradientTransformationExtraArgs:
        decay, eps_1, eps_2, clip = self.beta_2_decay, self.epsilon_1, self.epsilon_2, self.clip_threshold
        relative = self.relative_step and self._schedule is None

        def rms(x):
            return jnp.sqrt(jnp.mean(jnp.square(x)))

        def init_slots(p):
            if p.ndim < 2:
                return jnp.zeros((), p.dtype), jnp.zeros((), p.dtype), jnp.zeros_like(p)
            return jnp.zeros(p.shape[:-1], p.dtype), jnp.zeros(p.shape[:-2] + p.shape[-1:], p.dtype), jnp.zeros_like(p)

        def step(g, p, slots, lr, t):
            r, c, v = slots
            if relative:
                lr = jnp.minimum(lr, 1 / jnp.sqrt(t))
            rho_t = jnp.minimum(lr, 1 / jnp.sqrt(t))
            alpha_t = jnp.maximum(jnp.asarray(eps_2, p.dtype), rms(p)) * rho_t
            regulated = jnp.square(g) + eps_1
            beta_2_t = 1 - jnp.power(t, decay)
            if p.ndim >= 2:
                r = beta_2_t * r + (1 - beta_2_t) * jnp.mean(regulated, axis=-1)
                c = beta_2_t * c + (1 - beta_2_t) * jnp.mean(regulated, axis=-2)
                v = jnp.expand_dims(r / jnp.mean(r, axis=-1, keepdims=True), -1) * jnp.expand_dims(c, -2)
            else:
                v = beta_2_t * v + (1 - beta_2_t) * regulated
            u_t = g / jnp.sqrt(v)
            u_t_hat = u_t / jnp.maximum(jnp.asarray(1.0, p.dtype), rms(u_t) / clip)
            return -(alpha_t * u_t_hat), (r, c, v)

        return per_variable_rule(init_slots, step)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                "relative_step": self.relative_step}
