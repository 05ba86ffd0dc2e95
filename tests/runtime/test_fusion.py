"""Fused (device-loop) and single-batch execution are interchangeable, and a user's steps_per_execution holds."""

import logging

import jax
import numpy as np
import pytest

import kgraph as keras


def _model(seed: int = 3):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.2),
                              keras.layers.BatchNormalization(), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _data(n: int = 200):
    rng = np.random.default_rng(0)
    return rng.random((n, 8), dtype=np.float32), rng.integers(0, 3, n)


def _executable(model, kind: str):
    (run,) = [run for key, run in model._executables.items() if key[0] == kind]
    return run


def _trained(fuse: bool):
    x, y = _data()
    model = _model()
    model.train_on_batch(x[:16], y[:16])
    _executable(model, "train").fuse = fuse
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    return model, history


def test_fused_and_single_batch_training_give_the_same_weights():
    fused, fused_history = _trained(True)
    single, single_history = _trained(False)
    for a, b in zip(fused.weights, single.weights):
        np.testing.assert_allclose(np.asarray(a.value), np.asarray(b.value), rtol=1e-5, atol=1e-6, err_msg=a.path)
    np.testing.assert_allclose(fused_history.history["loss"], single_history.history["loss"], rtol=1e-5)


def test_fused_and_single_batch_predict_agree():
    x, _ = _data(300)
    model = _model()
    model.predict(x[:8], verbose=0)
    run = _executable(model, "predict")
    run.fuse = True
    fused = model.predict(x, batch_size=16, verbose=0)
    run.fuse = False
    single = model.predict(x, batch_size=16, verbose=0)
    assert fused.shape == single.shape == (300, 3)
    np.testing.assert_allclose(fused, single, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("fuse", [True, False])
def test_predict_staged_a_window_at_a_time_equals_one_call(fuse):
    """300 rows, batches of 16, 5 per call (a batch hook keeps kgraph from fusing more): calls of 5, 5, 5, 3
    batches and a tail of 12 rows; the window of the 3-batch call ends at the data's end, so it starts before
    the call's first batch."""
    x, _ = _data(300)
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy", steps_per_execution=5)
    model.predict(x[:8], verbose=0)
    _executable(model, "predict").fuse = fuse
    hook = keras.callbacks.LambdaCallback(on_predict_batch_end=lambda batch, logs: None)
    got = model.predict(x, batch_size=16, verbose=0, callbacks=[hook])
    np.testing.assert_allclose(got, np.asarray(model(x, training=False)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fuse", [True, False])
def test_user_steps_per_execution_is_honoured_exactly(fuse):
    x, y = _data(160)
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy", steps_per_execution=3)
    model.train_on_batch(x[:16], y[:16])
    _executable(model, "train").fuse = fuse
    seen = []

    class Batches(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            seen.append(("end", batch))

    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[Batches()])
    assert seen == [("begin", 0), ("end", 2), ("begin", 3), ("end", 5), ("begin", 6), ("end", 8), ("begin", 9), ("end", 9)]


def test_dense_steps_run_fused_and_never_compile_the_single_batch_loop():
    x, y = _data(16 * 40)
    model = _model()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.predict(x, batch_size=16, verbose=0)
    train, predict = _executable(model, "train"), _executable(model, "predict")
    assert train.fuse is True and predict.fuse is True
    assert train._fused._cache and not train._single._cache


def _sequence_model(layer):
    model = keras.Sequential([keras.Input((6, 2)), layer, keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_training_through_a_convolution_runs_single_batch_and_forward_steps_run_fused():
    rng = np.random.default_rng(0)
    x, y = rng.random((16 * 8, 6, 2), dtype=np.float32), rng.integers(0, 3, 16 * 8)
    model = _sequence_model(keras.layers.Conv1D(4, 3))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, validation_data=(x, y))
    model.predict(x, batch_size=16, verbose=0)
    train, test, predict = _executable(model, "train"), _executable(model, "test"), _executable(model, "predict")
    assert train.fuse is False and not train._fused._cache
    assert test.fuse is True and test._fused._cache and not test._single._cache
    assert predict.fuse is True and predict._fused and not predict._single


def test_recurrent_layers_train_fused():
    rng = np.random.default_rng(0)
    x, y = rng.random((16 * 8, 6, 2), dtype=np.float32), rng.integers(0, 3, 16 * 8)
    model = _sequence_model(keras.layers.LSTM(4, return_sequences=True))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    train = _executable(model, "train")
    assert train.fuse is True and train._fused._cache and not train._single._cache


@pytest.mark.parametrize("layers", [[], [keras.layers.Reshape((4, 2)), keras.layers.Conv1D(4, 2), keras.layers.Flatten()]],
                         ids=["fused", "single"])
def test_a_ragged_fit_compiles_one_step_per_batch_size(layers, caplog):
    """200 rows in batches of 16 with 50 validation rows: train calls on 12 batches and an 8-row tail, test
    calls on 3 batches and a 2-row tail. Four step executables, whether training runs fused or single."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), *layers, keras.layers.Dense(3)])
    model.compile("adam", "mse")
    x, y = np.random.default_rng(0).random((200, 8), dtype=np.float32), np.zeros((200, 3), "float32")
    jax.config.update("jax_log_compiles", True)  # globally: other sizes compile on a background thread
    try:
        with caplog.at_level(logging.WARNING, logger="jax"):
            model.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_data=(x[:50], y[:50]))
    finally:
        jax.config.update("jax_log_compiles", False)
    compiled = [r for r in caplog.records if r.getMessage().startswith("Compiling jit(run)")]
    assert len(compiled) == 4, [r.getMessage()[:200] for r in compiled]
