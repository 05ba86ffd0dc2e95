"""Adam with Keras 3's exact update rule (bias correction folded into the step size)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from kgraph.optimizers.optimizer import Optimizer, check_float


class AdamSlots(NamedTuple):
    """Slots in Keras' variable order: `(momentum, velocity)` per variable, then
    the AMSGrad maxima (empty unless `amsgrad`)."""

    moments: list[tuple[jax.Array, jax.Array]]
    velocity_hats: list[jax.Array]


def adam_rule(
    beta_1: float, beta_2: float, epsilon: float, amsgrad: bool
) -> optax.GradientTransformationExtraArgs:
    """Keras' Adam: `alpha = lr * sqrt(1 - b2^t) / (1 - b1^t)`, `w -= alpha * m / (sqrt(v) + eps)`.

    Differs from `optax.adam`, which bias-corrects `m` and `v` before adding
    epsilon; here epsilon is not scaled by the bias correction.
    """

    def init(params: list[jax.Array]) -> AdamSlots:
        moments = [(jnp.zeros_like(p), jnp.zeros_like(p)) for p in params]
        return AdamSlots(moments, [jnp.zeros_like(p) for p in params] if amsgrad else [])

    def update(grads, slots, params, *, learning_rate, iterations):
        updates = []
        new = AdamSlots([], [])
        for i, (g, p) in enumerate(zip(grads, params)):
            dtype = p.dtype
            g = g.astype(dtype)
            step = (iterations + 1).astype(dtype)
            beta_1_power = jnp.power(jnp.asarray(beta_1, dtype), step)
            beta_2_power = jnp.power(jnp.asarray(beta_2, dtype), step)
            alpha = learning_rate.astype(dtype) * jnp.sqrt(1 - beta_2_power) / (1 - beta_1_power)
            m, v = slots.moments[i]
            m = m + (g - m) * (1 - beta_1)
            v = v + (jnp.square(g) - v) * (1 - beta_2)
            new.moments.append((m, v))
            if amsgrad:
                v = jnp.maximum(slots.velocity_hats[i], v)
                new.velocity_hats.append(v)
            updates.append(-(m * alpha / (jnp.sqrt(v) + epsilon)))
        return updates, new

    return optax.GradientTransformationExtraArgs(init, update)


class Adam(Optimizer):
    """Adam, matching `keras.optimizers.Adam`: SGD scaled by running estimates
    of the gradient's first and second moments.

    Args:
        learning_rate: Float >= 0. Defaults to `0.001`.
        beta_1: Float in [0, 1], decay rate of the first-moment estimate.
            Defaults to `0.9`.
        beta_2: Float in [0, 1], decay rate of the second-moment estimate.
            Defaults to `0.999`.
        epsilon: Float >= 0 added to the denominator for numerical stability
            ("epsilon hat" in Kingma and Ba). Defaults to `1e-7`.
        amsgrad: Whether to use the AMSGrad variant, which divides by the
            running maximum of the second moment. Defaults to `False`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`
            and `name`, as in `kgraph.optimizers.Optimizer`.
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = check_float("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = check_float("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = check_float("epsilon", epsilon)
        self.amsgrad = bool(amsgrad)

    def _update_rule(self) -> optax.GradientTransformationExtraArgs:
        return adam_rule(self.beta_1, self.beta_2, self.epsilon, self.amsgrad)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }
