"""Callbacks given bad arguments: Keras' errors (naming the argument) and Keras' warnings where Keras only warns."""

from __future__ import annotations

import numpy as np
import pytest

import kgraph
from kgraph import callbacks

X, Y = np.ones((8, 4), "float32"), np.zeros((8, 3), "float32")

ERRORS = {
    "ModelCheckpoint extension": (lambda d: callbacks.ModelCheckpoint(f"{d}/model.txt"),
                                  r"filepath provided must end in `\.keras` \(Keras model format\)\. Received: filepath=.*model\.txt"),
    "ModelCheckpoint weights extension": (lambda d: callbacks.ModelCheckpoint(f"{d}/m.keras", save_weights_only=True),
                                          r"`save_weights_only=True` .* must end in `\.weights\.h5`"),
    "ModelCheckpoint save_freq": (lambda d: callbacks.ModelCheckpoint(f"{d}/m.keras", save_freq="sometimes"),
                                  r"Unrecognized save_freq: sometimes\. Expected save_freq are 'epoch' or integer values"),
    "ModelCheckpoint unknown monitor": (lambda d: _fit(callbacks.ModelCheckpoint(f"{d}/m.keras", monitor="val_nope",
                                                                                 save_best_only=True)),
                                        r"ModelCheckpoint callback received monitor=val_nope, but Keras isn't able to "
                                        r"automatically determine whether that metric should be maximized or minimized"),
    "EarlyStopping unknown monitor": (lambda d: _fit(callbacks.EarlyStopping(monitor="nope")),
                                      r"EarlyStopping callback received monitor=nope, but Keras isn't able"),
    "ReduceLROnPlateau factor": (lambda d: callbacks.ReduceLROnPlateau(factor=1.0),
                                 r"ReduceLROnPlateau does not support a factor >= 1\.0\. Received factor=1\.0"),
    "BackupAndRestore empty dir": (lambda d: callbacks.BackupAndRestore(""), r"Empty `backup_dir` argument passed"),
    "BackupAndRestore save_freq": (lambda d: callbacks.BackupAndRestore(f"{d}/b", save_freq="sometimes"),
                                   r"Invalid value for argument `save_freq`\. Received: save_freq=sometimes\. Expected "
                                   r"either 'epoch', False or a positive integer value\."),
}

WARNINGS = {
    "ModelCheckpoint mode": (lambda d: callbacks.ModelCheckpoint(f"{d}/m.keras", mode="sideways"),
                             r"ModelCheckpoint mode 'sideways' is unknown, fallback to auto mode\."),
    "EarlyStopping mode": (lambda d: callbacks.EarlyStopping(mode="sideways"),
                           r"EarlyStopping mode 'sideways' is unknown, fallback to auto mode\."),
    "ModelCheckpoint missing monitor": (lambda d: _fit(callbacks.ModelCheckpoint(f"{d}/m.keras", monitor="val_nope",
                                                                                 mode="min", save_best_only=True)),
                                        r"Can save best model only with val_nope available\."),
    "EarlyStopping missing monitor": (lambda d: _fit(callbacks.EarlyStopping(monitor="nope", mode="min")),
                                      r"Early stopping conditioned on metric `nope` which is not available\."),
}


def _fit(callback):
    inputs = kgraph.Input((4,))
    model = kgraph.Model(inputs, kgraph.layers.Dense(3)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    return model.fit(X, Y, epochs=1, verbose=0, callbacks=[callback])


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_callback_argument_errors(tmp_path, case):
    make, message = ERRORS[case]
    with pytest.raises(ValueError, match=message):
        make(tmp_path)


@pytest.mark.parametrize("case", sorted(WARNINGS))
def test_callback_argument_warnings_as_in_keras(tmp_path, case):
    make, message = WARNINGS[case]
    with pytest.warns(UserWarning, match=message):
        make(tmp_path)
