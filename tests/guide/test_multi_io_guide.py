"""The guide's multi-input / multi-output section: the Conv2D + Conv1D model, its compiles, fits and plot."""

import numpy as np
import pytest
import tensorflow as tf

import kgraph as keras
from kgraph import layers


def build_model():
    image_input = keras.Input(shape=(32, 32, 3), name="img_input")
    timeseries_input = keras.Input(shape=(None, 10), name="ts_input")
    x1 = layers.Conv2D(3, 3)(image_input)
    x1 = layers.GlobalMaxPooling2D()(x1)
    x2 = layers.Conv1D(3, 3)(timeseries_input)
    x2 = layers.GlobalMaxPooling1D()(x2)
    x = layers.concatenate([x1, x2])
    score_output = layers.Dense(1, name="score_output")(x)
    class_output = layers.Dense(5, name="class_output")(x)
    return keras.Model(inputs=[image_input, timeseries_input], outputs=[score_output, class_output])


RNG = np.random.default_rng(0)
IMG = RNG.random(size=(100, 32, 32, 3))
TS = RNG.random(size=(100, 20, 10))
SCORE = RNG.random(size=(100, 1))
CLASS = RNG.random(size=(100, 5))

COMPILES = [
    dict(loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()]),
    dict(loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()],
         metrics=[[keras.metrics.MeanAbsolutePercentageError(), keras.metrics.MeanAbsoluteError()],
                  [keras.metrics.CategoricalAccuracy()]]),
    dict(loss={"score_output": keras.losses.MeanSquaredError(), "class_output": keras.losses.CategoricalCrossentropy()},
         metrics={"score_output": [keras.metrics.MeanAbsolutePercentageError(), keras.metrics.MeanAbsoluteError()],
                  "class_output": [keras.metrics.CategoricalAccuracy()]},
         loss_weights={"score_output": 2.0, "class_output": 1.0}),
    dict(loss=[None, keras.losses.CategoricalCrossentropy()]),
    dict(loss={"class_output": keras.losses.CategoricalCrossentropy()}),
]


@pytest.mark.parametrize("config", COMPILES, ids=["list", "list+metrics", "dict+weights", "list-none", "dict-partial"])
def test_every_compile_of_the_section_trains_on_lists_and_dicts(config):
    model = build_model()
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3), **config)
    h_list = model.fit([IMG, TS], [SCORE, CLASS], batch_size=32, epochs=1, verbose=0).history
    h_dict = model.fit({"img_input": IMG, "ts_input": TS}, {"score_output": SCORE, "class_output": CLASS},
                       batch_size=32, epochs=1, verbose=0).history
    assert list(h_list) == list(h_dict) and "loss" in h_list
    if "metrics" in config:
        assert {"score_output_mean_absolute_percentage_error", "score_output_mean_absolute_error",
                "class_output_categorical_accuracy"} <= set(h_list)
    if config["loss"][0] is None if isinstance(config["loss"], list) else "score_output" not in config["loss"]:
        assert h_list["loss"] == pytest.approx(h_list["class_output_loss"], rel=1e-6)


@pytest.mark.slow
def test_tf_data_with_dict_inputs_and_targets_trains_as_the_same_numpy_batches():
    """The guide's tf.data block feeds each dict entry to the input or output of that name: unshuffled, it gives
    the losses and weights that fitting the same batches from NumPy dicts gives."""
    def fit(*data, **kwargs):
        keras.utils.set_random_seed(7)
        model = build_model()
        model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                      loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()])
        initial = model.get_weights()
        history = model.fit(*data, epochs=2, verbose=0, **kwargs).history
        return history, initial, model.get_weights()

    train_dataset = tf.data.Dataset.from_tensor_slices(
        ({"ts_input": TS, "img_input": IMG}, {"class_output": CLASS, "score_output": SCORE}))
    tf_history, initial, tf_weights = fit(train_dataset.batch(64), shuffle=False)
    np_history, _, np_weights = fit({"img_input": IMG, "ts_input": TS}, {"score_output": SCORE, "class_output": CLASS},
                                 batch_size=64, shuffle=False)
    assert set(tf_history) == {"loss", "score_output_loss", "class_output_loss"} and len(tf_history["loss"]) == 2
    for key in tf_history:
        np.testing.assert_allclose(tf_history[key], np_history[key], rtol=1e-5)
    for a, b in zip(tf_weights, np_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert all(np.all(np.isfinite(w)) for w in tf_weights)
    assert any(not np.allclose(a, b) for a, b in zip(initial, tf_weights))


def test_the_model_exports_with_dynamic_time_and_plots(tmp_path):
    model = build_model()
    path = tmp_path / "mio.onnx"
    model.export(str(path), verify=True)
    served = keras.runtime.OnnxModel(str(path)).predict({"img_input": IMG[:7].astype("float32"),
                                                         "ts_input": TS[:7, :13].astype("float32")})
    expected = model.predict({"img_input": IMG[:7], "ts_input": TS[:7, :13]}, verbose=0)
    for a, b in zip(served, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    keras.utils.plot_model(model, str(tmp_path / "multi_input_and_output_model.png"), show_shapes=True)
    assert (tmp_path / "multi_input_and_output_model.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
