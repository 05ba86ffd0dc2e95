"""compile/fit/evaluate/predict: the guide's first example, differential training against Keras 3, bad input."""

import re

import keras
import numpy as np
import pytest

import kgraph
from kgraph import layers


def guide_mlp(lib, dropout=0.0):
    inputs = lib.Input(shape=(784,), name="digits")
    x = lib.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    if dropout:
        x = lib.layers.Dropout(dropout)(x)
    x = lib.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = lib.layers.Dense(10, activation="softmax", name="predictions")(x)
    return lib.Model(inputs=inputs, outputs=outputs)


@pytest.fixture(scope="module")
def mnist():
    x, y = kgraph.datasets.mnist.load_split("test")
    x = x.reshape(len(x), 784).astype("float32") / 255
    return x, y.astype("float32")


def test_guide_first_example_learns_mnist(mnist):
    """8,000 train / 2,000 validation images of the real split.

    The 0.93 bar sits at the middle of the spread: over seeds 0-5 kgraph lands at 0.920-0.938 and Keras 3 at
    0.929-0.940 (seeds 0-3), so the test fixes a seed rather than pretending the bar is seed-independent.
    """
    x, y = mnist
    kgraph.utils.set_random_seed(3)
    model = guide_mlp(kgraph)
    model.compile(optimizer=kgraph.optimizers.RMSprop(), loss=kgraph.losses.SparseCategoricalCrossentropy(),
                  metrics=[kgraph.metrics.SparseCategoricalAccuracy()])
    history = model.fit(x[:8000], y[:8000], batch_size=64, epochs=2, validation_data=(x[8000:], y[8000:]), verbose=0)
    assert list(history.history) == ["loss", "sparse_categorical_accuracy", "val_loss", "val_sparse_categorical_accuracy"]
    assert all(len(v) == 2 and all(isinstance(e, float) for e in v) for v in history.history.values())
    assert history.history["val_sparse_categorical_accuracy"][-1] >= 0.93
    assert history.history["loss"][1] < history.history["loss"][0]
    loss, acc = model.evaluate(x[8000:], y[8000:], batch_size=128, verbose=0)
    assert acc == pytest.approx(history.history["val_sparse_categorical_accuracy"][-1], abs=1e-6)
    assert model.predict(x[:3], verbose=0).shape == (3, 10)


class _BatchLosses(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


class _OurBatchLosses(kgraph.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


OPTIMIZERS = {
    "sgd_momentum": lambda lib: lib.optimizers.SGD(learning_rate=0.05, momentum=0.9),
    "sgd_nesterov": lambda lib: lib.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    "rmsprop": lambda lib: lib.optimizers.RMSprop(),
    "adam": lambda lib: lib.optimizers.Adam(learning_rate=3e-3),
    "adamw": lambda lib: lib.optimizers.AdamW(learning_rate=3e-3),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_per_step_loss_matches_keras(name, mnist):
    x, y = mnist[0][:768], mnist[1][:768]
    theirs = guide_mlp(keras)
    ours = guide_mlp(kgraph)
    ours.set_weights(theirs.get_weights())
    for lib, model in ((keras, theirs), (kgraph, ours)):
        model.compile(optimizer=OPTIMIZERS[name](lib), loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
    cb_theirs, cb_ours = _BatchLosses(), _OurBatchLosses()
    h_theirs = theirs.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[cb_theirs])
    h_ours = ours.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[cb_ours])
    assert len(cb_ours.losses) == len(cb_theirs.losses) == 24
    np.testing.assert_allclose(cb_ours.losses, cb_theirs.losses, rtol=1e-5)
    for key in ("loss", "sparse_categorical_accuracy"):
        np.testing.assert_allclose(h_ours.history[key], h_theirs.history[key], rtol=1e-5)
    for w_ours, w_theirs in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(w_ours, w_theirs, rtol=1e-4, atol=1e-5)


def test_sample_weight_and_ragged_last_batch_match_keras(mnist):
    x, y = mnist[0][:500], mnist[1][:500]
    sw = np.random.default_rng(0).uniform(0.1, 2.0, size=500).astype("float32")
    theirs, ours = guide_mlp(keras), guide_mlp(kgraph)
    ours.set_weights(theirs.get_weights())
    for lib, model in ((keras, theirs), (kgraph, ours)):
        model.compile(optimizer=lib.optimizers.SGD(0.1, momentum=0.5), loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"], weighted_metrics=["sparse_categorical_accuracy"])
    h_theirs = theirs.fit(x, y, sample_weight=sw, batch_size=64, epochs=2, shuffle=False, verbose=0)
    h_ours = ours.fit(x, y, sample_weight=sw, batch_size=64, epochs=2, shuffle=False, verbose=0)
    assert set(h_ours.history) == set(h_theirs.history)
    for key in h_theirs.history:
        np.testing.assert_allclose(h_ours.history[key], h_theirs.history[key], rtol=1e-5)
    ev_theirs = theirs.evaluate(x, y, sample_weight=sw, return_dict=True, verbose=0)
    ev_ours = ours.evaluate(x, y, sample_weight=sw, return_dict=True, verbose=0)
    assert list(ev_ours) == list(ev_theirs)
    np.testing.assert_allclose(list(ev_ours.values()), list(ev_theirs.values()), rtol=1e-5)


def test_fused_steps_give_the_same_training(mnist):
    """Per-step (a batch callback watches), steps_per_execution=4, and auto-fused (no batch observer) agree."""
    x, y = mnist[0][:640], mnist[1][:640]
    results = []
    for spe, observe in ((1, True), (4, True), (1, False)):
        kgraph.utils.set_random_seed(3)
        model = guide_mlp(kgraph)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", steps_per_execution=spe)
        seen = _OurBatchLosses()
        history = model.fit(x, y, batch_size=48, epochs=2, shuffle=False, verbose=0, callbacks=[seen] if observe else [])
        if observe:
            assert len(seen.losses) == 2 * (14 if spe == 1 else 5)
        results.append((history.history["loss"], model.get_weights()))
    for other in results[1:]:
        np.testing.assert_allclose(results[0][0], other[0], rtol=1e-5)
        for a, b in zip(results[0][1], other[1]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_seeded_runs_with_dropout_repeat_exactly(mnist):
    x, y = mnist[0][:512], mnist[1][:512]
    runs = []
    for _ in range(2):
        kgraph.utils.set_random_seed(42)
        model = guide_mlp(kgraph, dropout=0.5)
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=64, epochs=2, verbose=0)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_kernel_regularizer_adds_to_the_loss_like_keras(mnist):
    x, y = mnist[0][:256], mnist[1][:256]

    def build(lib):
        inputs = lib.Input(shape=(784,))
        h = lib.layers.Dense(16, activation="relu", kernel_regularizer=lib.regularizers.L2(1e-2))(inputs)
        return lib.Model(inputs, lib.layers.Dense(10, activation="softmax", bias_regularizer="l1")(h))

    theirs, ours = build(keras), build(kgraph)
    ours.set_weights(theirs.get_weights())
    for lib, model in ((keras, theirs), (kgraph, ours)):
        model.compile(optimizer=lib.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    h_theirs = theirs.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0)
    h_ours = ours.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_ours.history["loss"], h_theirs.history["loss"], rtol=1e-5)


def test_validation_split_and_progress_output(mnist, capsys):
    x, y = mnist[0][:1000], mnist[1][:1000]
    model = guide_mlp(kgraph)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=100, epochs=2, validation_split=0.2, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert out.count("8/8 - ") == 2 and " - val_accuracy: " in out
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    loss, accuracy = model.evaluate(x[:256], y[:256], batch_size=128)
    assert loss > 0.05 and 0.5 < accuracy <= 1.0
    out = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
    assert re.search(r"2/2 ━{20} \d+m?s \d+[mu]?s/step - accuracy: 0\.\d{4} - loss: \d\.\d{4}", out)


def test_train_test_predict_on_batch(mnist):
    x, y = mnist[0][:64], mnist[1][:64]
    model = guide_mlp(kgraph)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
    logs = model.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "sparse_categorical_accuracy"}
    loss, acc = model.test_on_batch(x, y)
    assert np.isfinite(loss) and 0 <= acc <= 1
    np.testing.assert_allclose(model.predict_on_batch(x), model.predict(x, verbose=0), rtol=1e-6)


# --- bad input -------------------------------------------------------------------------------------------
@pytest.fixture
def compiled():
    model = guide_mlp(kgraph)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    return model


def test_feature_size_mismatch_names_input_and_shapes(compiled):
    with pytest.raises(ValueError, match=r"'digits'.*expected shape=\(None, 784\), found shape=\(10, 780\)"):
        compiled.fit(np.zeros((10, 780), "float32"), np.zeros(10), verbose=0)


def test_x_y_length_mismatch(compiled):
    with pytest.raises(ValueError, match=r"'x' sizes: 10 'y' sizes: 9"):
        compiled.fit(np.zeros((10, 784), "float32"), np.zeros(9), verbose=0)


def test_unknown_identifiers():
    model = guide_mlp(kgraph)
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier: 'rmsprob'"):
        model.compile(optimizer="rmsprob", loss="mse")
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropyy")


def test_non_numeric_data(compiled):
    with pytest.raises(TypeError, match="`x` must hold numbers"):
        compiled.fit(np.array([["a"] * 784] * 4), np.zeros(4), verbose=0)


def test_fit_before_compile():
    with pytest.raises(ValueError, match=r"must call `compile\(\)` before using the model in `fit\(\)`"):
        guide_mlp(kgraph).fit(np.zeros((4, 784), "float32"), np.zeros(4), verbose=0)


def test_no_loss_to_compute():
    model = guide_mlp(kgraph)
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="No loss to compute"):
        model.fit(np.zeros((4, 784), "float32"), np.zeros(4), verbose=0)


def test_plain_function_loss_trains_like_the_builtin(mnist):
    """The guide's custom_mean_squared_error: a plain fn(y_true, y_pred) written with kgraph.ops."""
    from kgraph import ops

    def custom_mean_squared_error(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    x, y = mnist[0][:256], mnist[1][:256]
    y_one_hot = np.eye(10, dtype="float32")[y.astype(int)]
    histories = []
    for loss in (custom_mean_squared_error, "mean_squared_error"):
        kgraph.utils.set_random_seed(9)
        model = guide_mlp(kgraph)
        model.compile(optimizer="adam", loss=loss)
        histories.append(model.fit(x, y_one_hot, batch_size=64, epochs=2, verbose=0, shuffle=False).history["loss"])
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-6)
