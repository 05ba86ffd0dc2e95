"""Adagrad, Adadelta, Adamax and Nadam with Keras 3's exact update rules."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import optax

from kgraph.optimizers.optimizer import Optimizer, check_float
from kgraph.optimizers.rule import per_variable_rule


class Adagrad(Optimizer):
    """Per-parameter learning rates scaled by the accumulated squared gradients, as `keras.optimizers.Adagrad`.

    Args:
        learning_rate: Float >= 0. Defaults to `0.001`.
        initial_accumulator_value: Float >= 0, the accumulators' starting value. Defaults to `0.1`.
        epsilon: Float >= 0 for numerical stability. Defaults to `1e-7`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm` and `name`.
    """

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = check_float("initial_accumulator_value", initial_accumulator_value)
        self.epsilon = check_float("epsilon", epsilon)

    def _update_rule(self) -> optax.GradientTransformationExtraArgs:
        initial, eps = self.initial_accumulator_value, self.epsilon

        def step(g, p, slots, lr, t):
            accumulator = slots[0] + jnp.square(g)
            return -(lr * g / jnp.sqrt(accumulator + eps)), (accumulator,)

        return per_variable_rule(lambda p: (jnp.full_like(p, initial),), step)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta, as `keras.optimizers.Adadelta`: step sizes from running averages of squared gradients and
    squared updates.

    Args:
        learning_rate: Float >= 0. Defaults to `0.001`.
        rho: Float in [0, 1], the decay rate. Defaults to `0.95`.
        epsilon: Float >= 0 for numerical stability. Defaults to `1e-7`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm` and `name`.
    """

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.95, epsilon: float = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = check_float("rho", rho, 0.0, 1.0)
        self.epsilon = check_float("epsilon", epsilon)

    def _update_rule(self) -> optax.GradientTransformationExtraArgs:
        rho, eps = self.rho, self.epsilon

        def step(g, p, slots, lr, t):
            accumulated_grad, accumulated_delta = slots
            accumulated_grad = rho * accumulated_grad + (1 - rho) * jnp.square(g)
            delta = -(jnp.sqrt(accumulated_delta + eps) * g / jnp.sqrt(accumulated_grad + eps))
            accumulated_delta = rho * accumulated_delta + (1 - rho) * jnp.square(delta)
            return lr * delta, (accumulated_grad, accumulated_delta)

        return per_variable_rule(lambda p: (jnp.zeros_like(p), jnp.zeros_like(p)), step)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(Optimizer):
    """Adamax, the infinity-norm variant of Adam, as `keras.optimizers.Adamax`.

    Args:
        learning_rate: Float >= 0. Defaults to `0.001`.
        beta_1: Float in [0, 1], decay of the first moment. Defaults to `0.9`.
        beta_2: Float in [0, 1], decay of the weighted infinity norm. Defaults to `0.999`.
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
            m, u = slots
            beta_1_power = jnp.power(jnp.asarray(beta_1, p.dtype), t)
            m = m + (g - m) * (1 - beta_1)
            u = jnp.maximum(beta_2 * u, jnp.abs(g))
            return -(lr * m / ((1 - beta_1_power) * (u + eps))), (m, u)

        return per_variable_rule(lambda p: (jnp.zeros_like(p), jnp.zeros_like(p)), step)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Adam with Nesterov momentum, as `keras.optimizers.Nadam` (with its momentum schedule `u_t`).

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

        def init(params):
            dtype = params[0].dtype if params else jnp.float32
            return {"moments": [(jnp.zeros_like(p), jnp.zeros_like(p)) for p in params],
                    "u_product": jnp.ones((), dtype)}

        def update(grads, slots, params, *, learning_rate, iterations):
            u_dtype = slots["u_product"].dtype
            u_product = slots["u_product"] * beta_1 * (
                1.0 - 0.5 * jnp.power(jnp.asarray(0.96, u_dtype), (iterations + 1).astype(u_dtype)))
            updates, moments = [], []
            for g, p, (m, v) in zip(grads, params, slots["moments"]):
                dtype = p.dtype
                g, lr = g.astype(dtype), learning_rate.astype(dtype)
                local_step, next_step = (iterations + 1).astype(dtype), (iterations + 2).astype(dtype)
                decay = jnp.asarray(0.96, dtype)
                b1, b2 = jnp.asarray(beta_1, dtype), jnp.asarray(beta_2, dtype)
                u_t = b1 * (1.0 - 0.5 * jnp.power(decay, local_step))
                u_t_1 = b1 * (1.0 - 0.5 * jnp.power(decay, next_step))
                u_product_t = u_product.astype(dtype)
                u_product_t_1 = u_product_t * u_t_1
                m = m + (g - m) * (1 - b1)
                v = v + (jnp.square(g) - v) * (1 - b2)
                m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
                v_hat = v / (1 - jnp.power(b2, local_step))
                updates.append(-(m_hat * lr / (jnp.sqrt(v_hat) + eps)))
                moments.append((m, v))
            return updates, {"moments": moments, "u_product": u_product}

        return optax.GradientTransformationExtraArgs(init, update)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
