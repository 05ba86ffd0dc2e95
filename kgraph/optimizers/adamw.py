"""AdamW: Adam with decoupled weight decay, matching `keras.optimizers.AdamW`."""

from __future__ import annotations

from typing import Any

from kgraph.optimizers.adam import Adam


class AdamW(Adam):
    """Adam whose weight decay (`w -= w * weight_decay * lr` before each step) is required.

    Args:
        learning_rate: Float >= 0. Defaults to `0.001`.
        weight_decay: Float >= 0, the decoupled weight decay. Defaults to
            `0.004`.
        beta_1: Float in [0, 1], decay rate of the first-moment estimate.
            Defaults to `0.9`.
        beta_2: Float in [0, 1], decay rate of the second-moment estimate.
            Defaults to `0.999`.
        epsilon: Float >= 0 added to the denominator for numerical stability.
            Defaults to `1e-7`.
        amsgrad: Whether to use the AMSGrad variant. Defaults to `False`.
        **kwargs: `clipnorm`, `clipvalue`, `global_clipnorm` and `name`, as in
            `kgraph.optimizers.Optimizer`.
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            **kwargs,
        )
