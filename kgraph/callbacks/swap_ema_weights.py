"""SwapEMAWeights: evaluates and predicts with the optimizer's moving averages of the weights (`use_ema=True`)."""

from __future__ import annotations

import jax.numpy as jnp

from kgraph.callbacks.callback import Callback


class SwapEMAWeights(Callback):
    """Swaps the model's trained variables with the optimizer's moving averages before evaluation and prediction,
    and back after, as Keras' callback does (after prediction too, where Keras 3.15 leaves the averages in).

    Args:
        swap_on_epoch: Also put the averages in the model at each epoch's end (for callbacks such as
            ModelCheckpoint) and take them out at the next epoch's start. Defaults to `False`.
    """

    def __init__(self, swap_on_epoch: bool = False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _ema_optimizer(self):
        optimizer = getattr(self.model.optimizer, "inner_optimizer", self.model.optimizer)
        if not getattr(optimizer, "use_ema", False):
            raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                             f"Received: use_ema={getattr(optimizer, 'use_ema', None)}")
        return optimizer

    def _pairs(self):
        optimizer = self._ema_optimizer()
        if optimizer.state is None:
            return optimizer, [], []
        averages = optimizer.state["model_variables_moving_average"]
        variables = optimizer._trainable_variables
        if len(variables) != len(averages):
            raise ValueError(f"SwapEMAWeights: the optimizer holds {len(averages)} moving averages but tracks "
                             f"{len(variables)} variables; train the model with this optimizer first.")
        return optimizer, variables, averages

    def _swap_variables(self) -> None:
        optimizer, variables, averages = self._pairs()
        previous = [jnp.asarray(v.value) for v in variables]
        for variable, average in zip(variables, averages):
            variable.assign(average)
        if variables:
            optimizer.state = {**optimizer.state, "model_variables_moving_average": previous}

    def _finalize_ema_values(self) -> None:
        optimizer, variables, _ = self._pairs()
        if variables:
            optimizer.state = {**optimizer.state, "model_variables_moving_average": [
                jnp.asarray(v.value) for v in variables]}

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True
            if epoch == self.params["epochs"] - 1:
                self._finalize_ema_values()

    def on_test_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def on_test_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_predict_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def on_predict_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False
