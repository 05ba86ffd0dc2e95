"""The guide's "Using callbacks" to the end, and the FAQ's BackupAndRestore and EarlyStopping answers, run as written.

Each block runs with `import kgraph as keras` on 4,000 MNIST digits (the guide uses 50,000), and the claim
the text makes about it is checked.
"""

import os

import keras as real_keras
import numpy as np
import pytest

import kgraph as keras
from kgraph import layers


@pytest.fixture(scope="module")
def mnist():
    x, y = keras.datasets.mnist.load_split("test")
    x = x.reshape(len(x), 784).astype("float32") / 255
    return x[:4000], y[:4000].astype("float32")


def get_uncompiled_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


def get_compiled_model():
    model = get_uncompiled_model()
    model.compile(
        optimizer="rmsprop",
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
    )
    return model


class KerasStandIn:
    """Enough of a model for Keras' own EarlyStopping to replay a history."""

    metrics = []
    stop_training = False


def test_early_stopping_block_stops_before_the_last_epoch(mnist, capsys):
    x_train, y_train = mnist
    keras.utils.set_random_seed(1)
    model = get_compiled_model()

    callbacks = [
        keras.callbacks.EarlyStopping(
            # `val_loss`가 더 이상 개선되지 않을 때 트레이닝 중단
            monitor="val_loss",
            # "개선되지 않음"은 "1e-2 이상 개선되지 않음"을 의미
            min_delta=1e-2,
            # "개선되지 않음"은 "최소 2 에포크 동안 유지"될 때로 정의
            patience=2,
            verbose=1,
        )
    ]
    history = model.fit(
        x_train,
        y_train,
        epochs=20,
        batch_size=64,
        callbacks=callbacks,
        validation_split=0.2,
    )
    epochs_run = len(history.history["val_loss"])
    assert epochs_run < 20
    assert f"Epoch {epochs_run}: early stopping" in capsys.readouterr().out
    # Keras' own EarlyStopping, fed the same val_loss values, stops at the same epoch
    reference = real_keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2, patience=2)
    reference.set_model(KerasStandIn())
    reference.on_train_begin()
    for epoch, value in enumerate(history.history["val_loss"]):
        reference.on_epoch_end(epoch, {"val_loss": value})
    assert reference.model.stop_training and reference.stopped_epoch == epochs_run - 1


def test_custom_callback_block_records_every_batch_loss(mnist):
    x_train, y_train = mnist

    class LossHistory(keras.callbacks.Callback):
        def on_train_begin(self, logs):
            self.per_batch_losses = []

        def on_batch_end(self, batch, logs):
            self.per_batch_losses.append(logs.get("loss"))

    model = get_compiled_model()
    loss_history = LossHistory()
    history = model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0, callbacks=[loss_history])
    losses = [float(v) for v in loss_history.per_batch_losses]
    assert len(losses) == 63  # ceil(4000 / 64): every batch, none fused away
    assert losses[-1] == pytest.approx(history.history["loss"][0])
    assert losses[-1] < losses[0]


def _requires_saving():
    if not hasattr(keras.Model, "save") or not hasattr(keras.models, "load_model"):
        pytest.skip("model.save / keras.models.load_model are not available yet")


def test_model_checkpoint_block_writes_one_file_per_improving_epoch(mnist, tmp_path, monkeypatch, capsys):
    _requires_saving()
    monkeypatch.chdir(tmp_path)
    x_train, y_train = mnist
    keras.utils.set_random_seed(2)
    model = get_compiled_model()

    callbacks = [
        keras.callbacks.ModelCheckpoint(
            # 모델을 저장할 경로
            # 아래 두 매개변수는 `val_loss` 점수가 개선된 경우에만,
            # 현재 체크포인트를 덮어쓴다는 것을 의미합니다.
            # 저장된 모델 이름에는 현재 에포크가 포함됩니다.
            filepath="mymodel_{epoch}.keras",
            save_best_only=True,  # `val_loss`가 개선된 경우에만 모델을 저장합니다.
            monitor="val_loss",
            verbose=1,
        )
    ]
    history = model.fit(
        x_train,
        y_train,
        epochs=2,
        batch_size=64,
        callbacks=callbacks,
        validation_split=0.2,
    )
    val_loss = history.history["val_loss"]
    assert val_loss[1] < val_loss[0]
    assert sorted(os.listdir(tmp_path)) == ["mymodel_1.keras", "mymodel_2.keras"]
    out = capsys.readouterr().out
    assert f"Epoch 1: val_loss improved from inf to {val_loss[0]:.5f}, saving model to mymodel_1.keras" in out
    restored = keras.models.load_model("mymodel_2.keras")
    for a, b in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fault_tolerance_block_saves_every_100_batches_and_restores(mnist, tmp_path, monkeypatch, capsys):
    _requires_saving()
    monkeypatch.chdir(tmp_path)
    x_train, y_train = mnist

    # 모든 체크포인트를 저장할 디렉토리를 준비합니다.
    checkpoint_dir = "./ckpt"
    if not os.path.exists(checkpoint_dir):
        os.makedirs(checkpoint_dir)

    def make_or_restore_model():
        # 최신 모델을 복원하거나,
        # 체크포인트를 사용할 수 없는 경우 새 모델을 만듭니다.
        checkpoints = [checkpoint_dir + "/" + name for name in os.listdir(checkpoint_dir)]
        if checkpoints:
            latest_checkpoint = max(checkpoints, key=os.path.getctime)
            print("Restoring from", latest_checkpoint)
            return keras.models.load_model(latest_checkpoint)
        print("Creating a new model")
        return get_compiled_model()

    model = make_or_restore_model()
    callbacks = [
        # 이 콜백은 매 100 배치마다 모델을 저장합니다.
        # 저장된 모델 이름에 트레이닝 손실을 포함합니다.
        keras.callbacks.ModelCheckpoint(
            filepath=checkpoint_dir + "/model-loss={loss:.2f}.keras", save_freq=100
        )
    ]
    model.fit(x_train, y_train, epochs=1, callbacks=callbacks)

    assert "Creating a new model" in capsys.readouterr().out
    names = os.listdir(checkpoint_dir)
    assert len(names) == 1 and names[0].startswith("model-loss=") and names[0].endswith(".keras")  # 125 batches
    float(names[0][len("model-loss="):-len(".keras")])
    restored = make_or_restore_model()
    assert f"Restoring from {checkpoint_dir}/{names[0]}" in capsys.readouterr().out
    assert restored.optimizer.iterations == 100


def test_schedule_block_builds_an_optimizer_with_a_decaying_rate():
    initial_learning_rate = 0.1
    lr_schedule = keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate, decay_steps=100000, decay_rate=0.96, staircase=True
    )

    optimizer = keras.optimizers.RMSprop(learning_rate=lr_schedule)

    assert optimizer.learning_rate == pytest.approx(0.1)
    assert float(lr_schedule(100000)) == pytest.approx(0.096)
    assert optimizer.get_config()["learning_rate"]["class_name"] == "ExponentialDecay"


def _event_scalars(directory, tag):
    """(step, value) of a scalar, read with TensorBoard's own reader (without TensorFlow)."""
    import sys
    import types

    if "tensorflow" not in sys.modules:
        sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(directory), size_guidance={"scalars": 0})
    accumulator.Reload()
    return [(event.step, event.value) for event in accumulator.Scalars(tag)]


def test_tensorboard_block_logs_each_epoch_for_tensorboard(mnist, tmp_path):
    pytest.importorskip("tensorboard")
    x_train, y_train = mnist
    model = get_compiled_model()
    callback = keras.callbacks.TensorBoard(
        log_dir=str(tmp_path / "full_path_to_your_logs"),
        histogram_freq=0,  # 히스토그램 시각화를 기록하는 빈도
        embeddings_freq=0,  # 임베딩 시각화를 기록하는 빈도
        update_freq="epoch",
    )  # 로그를 작성하는 빈도(기본값: 에포크당 한 번)
    history = model.fit(x_train, y_train, epochs=2, batch_size=64, validation_split=0.2, verbose=0,
                        callbacks=[callback])
    log_dir = tmp_path / "full_path_to_your_logs"
    assert sorted(os.listdir(log_dir)) == ["train", "validation"]
    train = _event_scalars(log_dir / "train", "epoch_loss")
    validation = _event_scalars(log_dir / "validation", "epoch_loss")
    assert [step for step, _ in train] == [0, 1] and [step for step, _ in validation] == [0, 1]
    np.testing.assert_allclose([v for _, v in train], history.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in validation], history.history["val_loss"], rtol=1e-6)


# --- the FAQ ---------------------------------------------------------------------------------------------------

def _faq_backup_and_restore(backup_dir, y_shape):
    class InterruptingCallback(keras.callbacks.Callback):
        """의도적으로 트레이닝을 방해하기 위해 도입하는 콜백입니다."""
        def on_epoch_end(self, epoch, log=None):
            if epoch == 15:
                raise RuntimeError('Interruption')

    model = keras.Sequential([keras.layers.Dense(10)])
    optimizer = keras.optimizers.SGD()
    model.compile(optimizer, loss="mse")

    x = np.random.random((24, 10))
    y = np.random.random(y_shape)

    backup_callback = keras.callbacks.experimental.BackupAndRestore(
        backup_dir=backup_dir)
    history = None
    try:
        model.fit(x, y, epochs=20, steps_per_epoch=5,
                  callbacks=[backup_callback, InterruptingCallback()])
    except RuntimeError:
        print('***Handling interruption***')
        # 이것은 중단된 에포크부터 계속됩니다.
        history = model.fit(x, y, epochs=20, steps_per_epoch=5,
                            callbacks=[backup_callback])
    return model, history, x, y


def test_faq_backup_and_restore_verbatim(tmp_path):
    """y of shape (24,) against Dense(10) broadcasts as Keras 2 did (Keras 3 fails here) and resumes at epoch 16."""
    model, history, x, y = _faq_backup_and_restore(str(tmp_path / "backup"), (24,))
    assert history.epoch == [16, 17, 18, 19]


def test_faq_backup_and_restore_continues_at_the_interrupted_epoch(tmp_path, capsys):
    keras.utils.set_random_seed(3)
    model, history, x, y = _faq_backup_and_restore(str(tmp_path / "backup"), (24, 1))
    assert "***Handling interruption***" in capsys.readouterr().out
    assert history.epoch == [16, 17, 18, 19]  # the backup made at the end of epoch 15 (0-based)
    assert not os.path.exists(tmp_path / "backup")  # deleted once fit completes

    keras.utils.set_random_seed(3)
    reference = keras.Sequential([keras.layers.Dense(10)])
    reference.compile(keras.optimizers.SGD(), loss="mse")
    ref_history = reference.fit(x, y, epochs=20, steps_per_epoch=5, verbose=0)
    # each fit draws its own shuffling seed, so the two runs agree to rounding (bit-exact runs: test_backup_and_restore)
    np.testing.assert_allclose(history.history["loss"], ref_history.history["loss"][16:], rtol=1e-6)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert model.optimizer.iterations == 100


def test_faq_early_stopping_interrupts_training_when_val_loss_stops_decreasing(tmp_path):
    from kgraph.callbacks import EarlyStopping

    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.layers.Dense(10)])
    model.compile(keras.optimizers.SGD(), loss="mse")
    x = np.random.random((24, 10))
    y = np.where(np.arange(24) < 19, 1.0, -1.0)[:, None]  # validation_split=0.2 holds out the last 5, of target -1

    early_stopping = EarlyStopping(monitor='val_loss', patience=2)
    history = model.fit(x, y, validation_split=0.2, callbacks=[early_stopping], epochs=50, verbose=0)
    val_loss = history.history["val_loss"]
    assert len(val_loss) < 200 and early_stopping.stopped_epoch == len(val_loss) - 1
    best = int(np.argmin(val_loss))
    assert best == len(val_loss) - 3  # two epochs without improvement after the best one, then the stop
    # Keras' own EarlyStopping, fed the same val_loss values, stops at the same epoch
    reference = real_keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)
    reference.set_model(KerasStandIn())
    reference.on_train_begin()
    for epoch, value in enumerate(val_loss):
        reference.on_epoch_end(epoch, {"val_loss": value})
    assert reference.model.stop_training and reference.stopped_epoch == len(val_loss) - 1
