"""TerminateOnNaN: stops training as soon as a batch's loss is NaN or infinite."""

from __future__ import annotations

import numpy as np

from kgraph.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Checks the loss after every batch (so fit reports single batches rather than fusing them).

    Args:
        raise_error: Raise a RuntimeError instead of setting `model.stop_training`.
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(np.asarray(loss))
        if np.isnan(loss) or np.isinf(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                                   "Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training", flush=True)
            self.model.stop_training = True
