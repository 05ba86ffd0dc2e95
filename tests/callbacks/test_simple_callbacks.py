"""CSVLogger, TerminateOnNaN and LambdaCallback in fit, compared with what Keras 3 writes and does."""

import os

import keras
import numpy as np
import pytest

import kgraph

rng = np.random.default_rng(2)
X = rng.normal(size=(48, 4)).astype("float32")
Y = rng.normal(size=(48, 1)).astype("float32")


def model_pair(module, learning_rate=0.01):
    kgraph.utils.set_random_seed(1)
    ours = kgraph.Sequential([kgraph.Input((4,)), kgraph.layers.Dense(1)])
    if module is kgraph:
        model = ours
    else:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.set_weights(ours.get_weights())
    model.compile(module.optimizers.SGD(learning_rate), loss="mse", metrics=["mae"])
    return model


def test_csv_logger_writes_what_keras_writes(tmp_path):
    texts = []
    for module in (kgraph, keras):
        path = tmp_path / f"{module.__name__}.csv"
        model = model_pair(module)
        model.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                  callbacks=[module.callbacks.CSVLogger(str(path), separator=";")])
        model.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0, validation_data=(X[:8], Y[:8]),
                  callbacks=[module.callbacks.CSVLogger(str(path), separator=";", append=True)])
        texts.append(path.read_text())
    ours, theirs = ([line.split(";") for line in text.splitlines()] for text in texts)
    assert ours[0] == theirs[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert len(ours) == len(theirs) == 6  # one header (append adds none), 2 + 3 rows
    assert [row[0] for row in ours] == ["epoch", "0", "1", "0", "1", "2"]
    assert ours[1][3:] == theirs[1][3:] == ["NA", "NA"]
    np.testing.assert_allclose(np.array([r[1:3] for r in ours[1:]], float), np.array([r[1:3] for r in theirs[1:]], float),
                               rtol=1e-5)
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".tmp-")]


def test_terminate_on_nan_stops_at_the_first_bad_batch(capsys):
    model = model_pair(kgraph, learning_rate=1e18)
    seen = []
    history = model.fit(X * 1e10, Y, batch_size=8, epochs=3, verbose=0,
                        callbacks=[kgraph.callbacks.TerminateOnNaN(),
                                   kgraph.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))])
    assert len(history.history["loss"]) == 1 and len(seen) < 6
    assert not np.isfinite(history.history["loss"][0])
    assert f"Batch {seen[-1]}: Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered"):
        model_pair(kgraph, learning_rate=1e18).fit(X * 1e10, Y, batch_size=8, epochs=1, verbose=0,
                                                    callbacks=[kgraph.callbacks.TerminateOnNaN(raise_error=True)])


def test_lambda_callback_calls_each_function_with_keras_arguments():
    calls = []
    callback = kgraph.callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin", logs)),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, sorted(logs))),
        on_batch_end=lambda batch, logs: calls.append(("batch_end", batch)),  # Keras 2's name
        on_train_end=lambda logs: calls.append(("train_end",)),
        on_test_end=lambda logs: calls.append(("test_end", sorted(logs))),
    )
    model_pair(kgraph).fit(X, Y, batch_size=16, epochs=2, verbose=0, validation_data=(X[:8], Y[:8]),
                           callbacks=[callback])
    assert calls[0] == ("train_begin", None)
    assert [c for c in calls if c[0] == "batch_end"] == [("batch_end", b) for b in (0, 1, 2) * 2]
    assert calls[1:6] == [("epoch_begin", 0), ("batch_end", 0), ("batch_end", 1), ("batch_end", 2),
                          ("test_end", ["loss", "mae"])]
    assert calls[6] == ("epoch_end", 0, ["loss", "mae", "val_loss", "val_mae"])
    assert calls[-1] == ("train_end",)
