"""Muon: momentum orthogonalized by Newton-Schulz iterations for matrices, AdamW for the other variables."""

from __future__ import annotations

import re
from typing import Any

import jax
import jax.numpy as jnp
import optax

from kgraph.optimizers.optimizer import Optimizer, check_float


def _swap_last_axes(x: jax.Array) -> jax.Array:
    return jnp.swapaxes(x, -1, -2)


class Muon(Optimizer):
    """Muon, as `keras.optimizers.Muon`: 2-D variables take the Muon step, the others (and embeddings, and
    variables whose path matches `exclude_layers`) take an AdamW step.

    Which variables are matrices-for-Muon is decided from the variables `build` (or `fit`) receives; built on bare
    arrays, every 2-D array takes the Muon step.

    Args:
        learning_rate: Float >= 0 or a schedule. Defaults to `0.001`.
        adam_beta_1: Decay of the AdamW first moment. Defaults to `0.9`.
        adam_beta_2: Decay of the AdamW second moment. Defaults to `0.999`.
        adam_weight_decay: Weight decay of the AdamW variables. Defaults to `0.004`.
        epsilon: AdamW's epsilon. Defaults to `1e-7`.
        weight_decay: Weight decay of the Muon variables. Defaults to `0.004`.
        exclude_layers: Regular expressions; variables whose path matches one take the AdamW step.
        exclude_embeddings: Whether variables with "embedding" in their path take the AdamW step.
        muon_a, muon_b, muon_c: The Newton-Schulz quintic's coefficients.
        adam_lr_ratio: The AdamW learning rate as a fraction of `learning_rate`. Defaults to `1`.
        momentum: Momentum of the Muon step. Defaults to `0.95`.
        ns_steps: Number of Newton-Schulz iterations. Defaults to `5`.
        nesterov: Whether to use Nesterov momentum. Defaults to `True`.
        rms_rate: Scales the Muon update by `sqrt(max(rows, cols)) * rms_rate`; `None` disables it.
        **kwargs: `clipnorm`, `clipvalue`, `global_clipnorm` and `name`.
    """

    def __init__(self, learning_rate: float = 0.001, adam_beta_1: float = 0.9, adam_beta_2: float = 0.999,
                 adam_weight_decay: float | None = 0.004, epsilon: float = 1e-7, weight_decay: float | None = 0.004,
                 exclude_layers: list[str] | None = None, exclude_embeddings: bool = True, muon_a: float = 3.4445,
                 muon_b: float = -4.7750, muon_c: float = 2.0315, adam_lr_ratio: float = 1, momentum: float = 0.95,
                 ns_steps: int = 5, nesterov: bool = True, rms_rate: float | None = 0.2, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, **kwargs)
        self.adam_beta_1 = check_float("adam_beta_1", adam_beta_1, 0.0, 1.0)
        self.adam_beta_2 = check_float("adam_beta_2", adam_beta_2, 0.0, 1.0)
        self.epsilon = check_float("epsilon", epsilon)
        self.adam_weight_decay = None if adam_weight_decay is None else check_float("adam_weight_decay",
                                                                                    adam_weight_decay)
        self.muon_a, self.muon_b, self.muon_c = float(muon_a), float(muon_b), float(muon_c)
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = check_float("momentum", momentum, 0.0, 1.0)
        if isinstance(ns_steps, bool) or not isinstance(ns_steps, int) or ns_steps < 0:
            raise ValueError(f"Argument `ns_steps` must be an integer >= 0. Received: ns_steps={ns_steps!r}")
        self.ns_steps = ns_steps
        self.nesterov = bool(nesterov)
        self.exclude_layers = list(exclude_layers or [])
        self.exclude_embeddings = bool(exclude_embeddings)
        self.rms_rate = None if rms_rate is None else check_float("rms_rate", rms_rate)
        self._uses_adamw: list[bool] | None = None

    def _should_use_adamw(self, variable) -> bool:
        """Keras' routing: not 2-D, an embedding, or a path matching `exclude_layers`."""
        if len(variable.shape) != 2:
            return True
        path = getattr(variable, "path", None)
        if path is None:
            return False
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(keyword, path) for keyword in self.exclude_layers)

    def track_constraints(self, variables: list) -> None:
        """Also records, from the variables' shapes and paths, which ones take the AdamW step."""
        super().track_constraints(variables)
        self._uses_adamw = [self._should_use_adamw(v) for v in variables]

    def build(self, params: list) -> None:
        self._uses_adamw = [self._should_use_adamw(p) for p in params]
        super().build(params)

    def _routing(self, params: list) -> list[bool]:
        if self._uses_adamw is not None and len(self._uses_adamw) == len(params):
            return self._uses_adamw
        return [self._should_use_adamw(p) for p in params]

    def _apply_weight_decay(self, params: list[jax.Array], learning_rate: jax.Array) -> list[jax.Array]:
        decayed = []
        for p, adamw in zip(params, self._routing(params)):
            decay = self.adam_weight_decay if adamw else self.weight_decay
            decayed.append(p if decay is None else p - p * jnp.asarray(decay, p.dtype) * learning_rate.astype(p.dtype))
        return decayed

    def _newton_schulz(self, x: jax.Array) -> jax.Array:
        """Keras' `zeropower_via_newtonschulz5`: an approximate orthogonalization of `x`."""
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = _swap_last_axes(x)
        x = x / (jnp.sqrt(jnp.sum(jnp.square(x), axis=(-2, -1), keepdims=True)) + 1e-7)
        for _ in range(self.ns_steps):
            temp_a = x @ _swap_last_axes(x)
            temp_b = b * temp_a + c * temp_a @ temp_a
            x = a * x + temp_b @ x
        return _swap_last_axes(x) if tall else x

    def _muon_step(self, g, p, m, lr):
        m = m + (g + m * (self.momentum - 1))
        direction = g + self.momentum * m if self.nesterov else m
        update = lr * self._newton_schulz(direction)
        if self.rms_rate is not None:
            update = update * jnp.sqrt(jnp.asarray(max(p.shape[0], p.shape[1]), p.dtype)) * self.rms_rate
        return -update, (m,)

    def _adamw_step(self, g, p, m, v, lr, t):
        lr = lr * self.adam_lr_ratio
        alpha = lr * jnp.sqrt(1 - jnp.power(jnp.asarray(self.adam_beta_2, p.dtype), t)) / (
            1 - jnp.power(jnp.asarray(self.adam_beta_1, p.dtype), t))
        m = m + (g - m) * (1 - self.adam_beta_1)
        v = v + (jnp.square(g) - v) * (1 - self.adam_beta_2)
        return -((m * alpha) / (jnp.sqrt(v) + self.epsilon)), (m, v)

    def _update_rule(self) -> optax.GradientTransformationExtraArgs:
        def init(params):
            return [(jnp.zeros_like(p), jnp.zeros_like(p)) if adamw else (jnp.zeros_like(p),)
                    for p, adamw in zip(params, self._routing(params))]

        def update(grads, slots, params, *, learning_rate, iterations):
            updates, new_slots = [], []
            for g, p, s in zip(grads, params, slots):
                g, lr, t = g.astype(p.dtype), learning_rate.astype(p.dtype), (iterations + 1).astype(p.dtype)
                delta, s = self._adamw_step(g, p, *s, lr, t) if len(s) == 2 else self._muon_step(g, p, s[0], lr)
                updates.append(delta)
                new_slots.append(s)
            return updates, new_slots

        return optax.GradientTransformationExtraArgs(init, update)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2,
                "epsilon": self.epsilon, "exclude_layers": self.exclude_layers, "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio,
                "momentum": self.momentum, "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings, "adam_weight_decay": self.adam_weight_decay,
                "rms_rate": self.rms_rate}
