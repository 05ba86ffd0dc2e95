"""ConvLSTM1D/2D/3D: Keras parity (XLA, ONNX Runtime, gradients) over strides, dilation, padding, data formats,
go_backwards, returned and given states and masks; weights, configs, a training step and a `.keras` file."""

import keras
import numpy as np
import pytest

import kgraph
from kgraph import layers
from tests.layers.config_parity import assert_config_matches_keras
from tests.layers.keras_crossing import assert_keras_file_loads, assert_train_step_matches, model_pair
from tests.layers.parity import check_layer

RTOL, ATOL = 1e-4, 1e-5
RNG = np.random.default_rng(4)
SEQ1 = RNG.normal(size=(2, 4, 9, 3)).astype("float32")
SEQ2 = RNG.normal(size=(2, 3, 6, 5, 2)).astype("float32")
SEQ2_CHANNELS_FIRST = np.moveaxis(SEQ2, -1, 2).copy()
SEQ3 = RNG.normal(size=(1, 3, 4, 4, 3, 2)).astype("float32")

CASES = {
    "1d-valid-strided-sequences": (lambda lib: lib.layers.ConvLSTM1D(3, 3, strides=2, return_sequences=True), SEQ1),
    "1d-same-dilated-backwards": (lambda lib: lib.layers.ConvLSTM1D(2, 3, padding="same", dilation_rate=2,
                                                                   go_backwards=True), SEQ1),
    "2d-same-states": (lambda lib: lib.layers.ConvLSTM2D(3, (3, 2), padding="same", return_state=True), SEQ2),
    "2d-channels-first-no-bias": (lambda lib: lib.layers.ConvLSTM2D(2, 3, data_format="channels_first",
                                                                    use_bias=False, activation="relu",
                                                                    return_sequences=True), SEQ2_CHANNELS_FIRST),
    "3d-valid": (lambda lib: lib.layers.ConvLSTM3D(2, 2, unit_forget_bias=False), SEQ3),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_keras_xla_onnx_and_gradients(case, tmp_path):
    factory, x = CASES[case]
    check_layer(factory, [x], rtol=RTOL, atol=ATOL, grad=case.startswith("2d-same"), tmp_dir=str(tmp_path))


def step_mask(lib):
    """A layer (of lib) that masks the time steps whose frames are all zero."""

    class StepMask(lib.layers.Layer):
        supports_masking = True

        def call(self, x):
            return x

        def compute_mask(self, x, mask=None):
            return lib.ops.any(lib.ops.not_equal(x, 0.0), axis=(2, 3, 4))

    return StepMask()


def test_masked_steps_are_skipped_on_xla_and_onnx(tmp_path):
    """Keras 3.15 cannot mask ConvLSTM on JAX (its mask does not broadcast to the feature-map states), so kgraph's
    masked run is checked against Keras on the sequences with the masked steps left out."""
    masked = SEQ2.copy()
    masked[0, 1] = 0.0
    masked[1, 2] = 0.0

    def build(lib, mask):
        x = lib.Input(shape=(None,) + masked.shape[2:])
        return lib.Model(x, lib.layers.ConvLSTM2D(3, 3, padding="same", return_state=True)(
            step_mask(lib)(x) if mask else x))

    theirs = build(keras, False)
    ours = build(kgraph, True)
    ours.set_weights(theirs.get_weights())
    actual = ours.predict(masked, verbose=0)
    for sample, steps in ((0, [0, 2]), (1, [0, 1])):
        expected = theirs.predict(masked[sample:sample + 1, steps], verbose=0)
        for a, b in zip(actual, expected):
            np.testing.assert_allclose(a[sample:sample + 1], b, rtol=RTOL, atol=ATOL)
    path = str(tmp_path / "masked.onnx")
    kgraph.export.export_onnx(ours, path)
    for a, b in zip(kgraph.runtime.OnnxModel(path).predict(masked), actual):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def test_initial_states_match_keras():
    def build(lib):
        x = lib.Input(shape=SEQ2.shape[1:])
        output, h, c = lib.layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True, return_state=True)(x)
        again = lib.layers.ConvLSTM2D(3, 3, padding="same")(x, initial_state=[h, c])
        return lib.Model(x, [output, h, c, again])

    ours, theirs = model_pair(build)
    for a, b in zip(ours.predict(SEQ2, verbose=0), theirs.predict(SEQ2, verbose=0)):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_weights_have_keras_paths_shapes_order_and_initial_values(rank):
    shape = {1: (None, 4, 9, 3), 2: (None, 3, 6, 5, 2), 3: (None, 3, 4, 4, 3, 2)}[rank]
    ours, theirs = (getattr(lib.layers, f"ConvLSTM{rank}D")(4, 2, name="c") for lib in (kgraph, keras))
    ours.build(shape)
    theirs.build(shape)
    assert [(w.path, w.shape) for w in ours.weights] == [(w.path, tuple(w.shape)) for w in theirs.weights]
    np.testing.assert_array_equal(ours.cell.bias.numpy(), [0] * 4 + [1] * 4 + [0] * 8)


def test_config_matches_keras_and_round_trips():
    assert_config_matches_keras(lambda lib: lib.layers.ConvLSTM2D(
        4, (3, 2), strides=(2, 1), padding="same", data_format="channels_first", activation="relu",
        recurrent_activation="hard_sigmoid", use_bias=False, kernel_initializer="he_normal",
        unit_forget_bias=False, kernel_regularizer="l2", dropout=0.1, recurrent_dropout=0.2, seed=3,
        return_sequences=True, return_state=True, go_backwards=True))
    assert_config_matches_keras(lambda lib: lib.layers.ConvLSTM3D(2, 3, dilation_rate=2))


def _model(lib):
    x = lib.Input(shape=SEQ2.shape[1:])
    features = lib.layers.ConvLSTM2D(2, 3, padding="same", name="conv_lstm")(x)
    return lib.Model(x, lib.layers.Dense(1)(lib.layers.GlobalAveragePooling2D()(features)))


def test_one_training_step_matches_keras():
    assert_train_step_matches(_model, SEQ2, np.ones((len(SEQ2), 1), "float32"), rtol=RTOL, atol=ATOL)


def test_keras_file_loads(tmp_path):
    assert_keras_file_loads(_model, SEQ2, tmp_path, rtol=RTOL, atol=ATOL)


def test_bad_arguments_and_inputs_fail_naming_them():
    with pytest.raises(ValueError, match=r"strides > 1 cannot be combined with dilation_rate > 1"):
        layers.ConvLSTM2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"'c' \(ConvLSTM2D\) expects sequences of rank 5.*\(None, 3, 6, 2\)"):
        layers.ConvLSTM2D(2, 3, name="c").build((None, 3, 6, 2))
    with pytest.raises(ValueError, match=r"static input shapes for the spatial dimension"):
        layers.ConvLSTM1D(2, 3).build((None, 3, None, 2))
    x = kgraph.Input(shape=SEQ1.shape[1:])
    model = kgraph.Model(x, layers.ConvLSTM1D(2, 3, recurrent_dropout=0.5, name="dropped")(x))
    model.predict(SEQ1, verbose=0)
    with pytest.raises(NotImplementedError, match=r"'dropped'.*recurrent_dropout"):
        model(SEQ1, training=True)


def test_input_dropout_acts_only_in_training_and_trains():
    x = kgraph.Input(shape=SEQ1.shape[1:])
    model = kgraph.Model(x, layers.ConvLSTM1D(2, 3, dropout=0.5, seed=1)(x))
    inference = model.predict(SEQ1, verbose=0)
    np.testing.assert_allclose(np.asarray(model(SEQ1, training=False)), inference, rtol=1e-5, atol=1e-6)
    assert not np.allclose(np.asarray(model(SEQ1, training=True)), inference)
    model.compile(optimizer="sgd", loss="mse")
    assert np.isfinite(model.train_on_batch(SEQ1, np.zeros_like(inference)))
