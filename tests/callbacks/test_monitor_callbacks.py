"""EarlyStopping, ReduceLROnPlateau and ModelCheckpoint decisions against Keras 3's callbacks on the same logs.

Both implementations are driven epoch by epoch with identical log sequences through a stand-in model, so
every rule (patience, min_delta, baseline, start_from_epoch, cooldown, min_lr, save_best_only, thresholds,
batch counting) is compared without training anything; the fit-level tests live beside these.
"""

import os

import keras
import numpy as np
import pytest

from keras.src.trainers.compile_utils import MetricsList

import kgraph
from kgraph.callbacks import monitor_callback


class StandInOptimizer:
    """A float32 learning rate, as both optimizers store it."""

    def __init__(self, learning_rate):
        self._lr = np.float32(learning_rate)
        self.iterations = 0

    @property
    def learning_rate(self):
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        self._lr = np.float32(value)


class StandInModel:
    """What these callbacks touch: metrics, stop_training, weights, the optimizer and saving."""

    def __init__(self, metrics=(), learning_rate=0.1):
        self.metrics = list(metrics)
        self.stop_training = False
        self.optimizer = StandInOptimizer(learning_rate)
        self.epoch = 0
        self.restored = None
        self.saves = 0
        self.name = "stand_in"

    def get_weights(self):
        return [np.array([self.epoch], np.float32)]

    def set_weights(self, weights):
        self.restored = int(weights[0][0])

    def jax_state_sync(self):
        pass

    def save(self, path, overwrite=True):
        self.saves += 1
        with open(path, "w") as f:
            f.write(str(self.saves))

    save_weights = save


def drive(callback, model, values, key="val_loss", batches=0):
    """Runs `callback` through epochs whose logs hold `values[i]` under `key`; returns the epochs run."""
    callback.set_model(model)
    callback.on_train_begin()
    epochs = 0
    for epoch, value in enumerate(values):
        model.epoch = epoch
        callback.on_epoch_begin(epoch)
        for batch in range(batches):
            callback.on_train_batch_end(batch, {"loss": np.float32(value + batch)})
        logs = {"loss": float(value) + 1.0, key: float(value)}
        callback.on_epoch_end(epoch, logs)
        epochs += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return epochs


def sequences():
    rng = np.random.default_rng(0)
    out = [
        [1.0, 0.9, 0.95, 0.96, 0.97, 0.8, 0.85, 0.86, 0.87, 0.88],
        [0.5, 0.499, 0.498, 0.497, 0.6, 0.3, 0.31, 0.3, 0.3, 0.29],
        [3.0, 2.0, 1.0, 0.5, 0.25, 0.125, 0.1, 0.09, 0.089, 0.0889],
    ]
    for _ in range(5):  # noisy plateaus
        out.append(list(np.round(np.minimum.accumulate(rng.uniform(0.5, 1.0, 12)) + rng.uniform(0, 0.05, 12), 4)))
    return out


EARLY_STOPPING = [
    dict(),
    dict(patience=2),
    dict(patience=2, min_delta=1e-2),
    dict(patience=3, baseline=0.7),
    dict(patience=1, baseline=0.2, restore_best_weights=True),
    dict(patience=2, restore_best_weights=True),
    dict(patience=1, start_from_epoch=4, restore_best_weights=True),
    dict(patience=2, mode="max"),
    dict(patience=2, monitor="val_accuracy", min_delta=0.01),
]


@pytest.mark.parametrize("kwargs", EARLY_STOPPING, ids=[str(k) for k in EARLY_STOPPING])
def test_early_stopping_matches_keras(kwargs):
    for values in sequences():
        key = kwargs.get("monitor", "val_loss")
        results = []
        for module in (kgraph, keras):
            accuracy = module.metrics.Accuracy(name="accuracy")
            # Keras looks for directions only among its compiled metrics
            model = StandInModel(metrics=[MetricsList([accuracy]) if module is keras else accuracy])
            callback = module.callbacks.EarlyStopping(**kwargs)
            if key == "val_accuracy":
                values_used = [1 - v for v in values]
            else:
                values_used = values
            epochs = drive(callback, model, values_used, key=key)
            results.append((epochs, callback.stopped_epoch, callback.best, callback.wait, model.restored,
                            getattr(callback, "best_epoch", None)))
        assert results[0] == results[1], (values, kwargs)


def test_early_stopping_infers_direction_from_kgraph_metrics():
    cases = {"val_loss": "min", "val_sparse_categorical_accuracy": "max", "val_auc": "max", "mse": "min",
             "val_output_a_loss": "min"}
    metrics = [kgraph.metrics.SparseCategoricalAccuracy(), kgraph.metrics.AUC(name="auc"),
               kgraph.metrics.MeanSquaredError(name="mse")]
    for monitor, mode in cases.items():
        callback = kgraph.callbacks.EarlyStopping(monitor=monitor)
        callback.set_model(StandInModel(metrics=metrics))
        callback._set_monitor_op()
        assert callback._is_improvement(1.0, 2.0) == (mode == "min"), monitor
    callback = kgraph.callbacks.EarlyStopping(monitor="val_custom")
    callback.set_model(StandInModel(metrics=[kgraph.metrics.Mean(name="custom")]))
    with pytest.raises(ValueError, match="mode='max'"):
        callback._set_monitor_op()
    assert monitor_callback.metric_direction(kgraph.metrics.BinaryAccuracy()) == "up"


def test_early_stopping_warns_on_missing_monitor():
    callback = kgraph.callbacks.EarlyStopping(monitor="val_nope", mode="min")
    with pytest.warns(UserWarning, match="val_nope"):
        assert drive(callback, StandInModel(), [1.0, 1.0, 1.0]) == 3


REDUCE_LR = [
    dict(patience=1),
    dict(patience=2, factor=0.5, min_lr=0.02),
    dict(patience=1, factor=0.5, cooldown=2),
    dict(patience=2, factor=0.2, min_delta=0.05, mode="min"),
    dict(patience=0, factor=0.9),
]


@pytest.mark.parametrize("kwargs", REDUCE_LR, ids=[str(k) for k in REDUCE_LR])
def test_reduce_lr_on_plateau_matches_keras(kwargs):
    for values in sequences():
        rates = []
        for module in (kgraph, keras):
            model = StandInModel(learning_rate=0.1)
            callback = module.callbacks.ReduceLROnPlateau(**kwargs)
            callback.set_model(model)
            callback.on_train_begin()
            seen = []
            for epoch, value in enumerate(values):
                logs = {"val_loss": value}
                callback.on_epoch_end(epoch, logs)
                seen.append((float(model.optimizer.learning_rate), logs["learning_rate"], callback.wait,
                             callback.cooldown_counter))
            rates.append(seen)
        assert rates[0] == rates[1], (values, kwargs)


def test_reduce_lr_on_plateau_rejects_factor_one():
    with pytest.raises(ValueError, match="factor >= 1.0"):
        kgraph.callbacks.ReduceLROnPlateau(factor=1.0)


CHECKPOINTS = [
    dict(filepath="m_{epoch}.keras"),
    dict(filepath="m_{epoch:02d}-{val_loss:.2f}.keras", save_best_only=True),
    dict(filepath="best.keras", save_best_only=True),
    dict(filepath="best.weights.h5", save_best_only=True, save_weights_only=True, initial_value_threshold=0.8),
    dict(filepath="m_{epoch}.keras", save_best_only=True, mode="max"),
    dict(filepath="b_{epoch}_{batch}.keras", save_freq=3),
    dict(filepath="b_{epoch}-{loss:.1f}.keras", save_freq=4, save_best_only=True, monitor="loss"),
]


@pytest.mark.parametrize("kwargs", CHECKPOINTS, ids=[str(k) for k in CHECKPOINTS])
def test_model_checkpoint_saves_the_same_files_as_keras(kwargs, tmp_path):
    saved = 0
    for n, values in enumerate(sequences()[:4]):
        listings = []
        for module in (kgraph, keras):
            directory = tmp_path / f"{module.__name__}_{n}"
            directory.mkdir()
            callback = module.callbacks.ModelCheckpoint(**{**kwargs, "filepath": str(directory / kwargs["filepath"])})
            drive(callback, StandInModel(), values, batches=5)
            listings.append({name: (directory / name).read_text() for name in sorted(os.listdir(directory))})
        assert listings[0] == listings[1], (values, kwargs)
        saved += len(listings[0])
    assert saved, "no sequence saved anything"


def test_model_checkpoint_validates_filepath_and_save_freq():
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        kgraph.callbacks.ModelCheckpoint("w.keras", save_weights_only=True)
    with pytest.raises(ValueError, match=r"must end in `\.keras`"):
        kgraph.callbacks.ModelCheckpoint("model.ckpt")
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        kgraph.callbacks.ModelCheckpoint("m.keras", save_freq="batch")
    callback = kgraph.callbacks.ModelCheckpoint("m_{epoch}_{nope}.keras")
    callback.set_model(StandInModel())
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        callback.on_epoch_end(0, {"val_loss": 1.0})


def test_model_checkpoint_verbose_lines_follow_the_guide(tmp_path, capsys):
    callback = kgraph.callbacks.ModelCheckpoint(str(tmp_path / "mymodel_{epoch}.keras"), save_best_only=True,
                                                monitor="val_loss", verbose=1)
    drive(callback, StandInModel(), [0.22393, 0.16868, 0.2])
    out = capsys.readouterr().out
    assert f"Epoch 1: val_loss improved from inf to 0.22393, saving model to {tmp_path}/mymodel_1.keras" in out
    assert f"Epoch 2: val_loss improved from 0.22393 to 0.16868, saving model to {tmp_path}/mymodel_2.keras" in out
    assert "Epoch 3: val_loss did not improve from 0.16868" in out
    assert sorted(os.listdir(tmp_path)) == ["mymodel_1.keras", "mymodel_2.keras"]


def test_restore_best_weights_in_fit_restores_the_best_epochs_weights():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    kgraph.utils.set_random_seed(0)
    model = kgraph.Sequential([kgraph.Input((3,)), kgraph.layers.Dense(1)])
    model.compile(kgraph.optimizers.SGD(0.05), loss="mse")
    per_epoch = []
    record = kgraph.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: per_epoch.append(model.get_weights()))
    # only a drop of more than 10 counts as an improvement: epoch 0 stays the best, training stops after epoch 2
    stopper = kgraph.callbacks.EarlyStopping(monitor="loss", min_delta=10.0, patience=2, restore_best_weights=True)
    history = model.fit(x, y, batch_size=8, epochs=10, verbose=0, callbacks=[record, stopper])
    assert history.epoch == [0, 1, 2] and stopper.stopped_epoch == 2 and stopper.best_epoch == 0
    assert not np.array_equal(per_epoch[0][0], per_epoch[2][0])
    for restored, best in zip(model.get_weights(), per_epoch[0]):
        np.testing.assert_array_equal(restored, best)
