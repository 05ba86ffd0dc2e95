"""LearningRateScheduler: sets the learning rate at the start of each epoch from `schedule(epoch, lr)`."""

from __future__ import annotations

import numpy as np

from kgraph.callbacks.callback import Callback


class LearningRateScheduler(Callback):
    """Calls `schedule(epoch, lr)` (0-based epoch, current rate) at each epoch start and sets the result.

    The epoch's updates all use that rate. A one-argument `schedule(epoch)` is accepted too (Keras' old
    API). The rate is added to the epoch logs as "learning_rate".

    Args:
        schedule: A function returning the new rate as a float.
        verbose: 1 prints the rate set at each epoch.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            learning_rate = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:  # the one-argument schedule(epoch) of Keras 2
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {learning_rate}")
        optimizer.learning_rate = float(learning_rate)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {learning_rate}.", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
