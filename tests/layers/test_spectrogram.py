"""STFTSpectrogram and MelSpectrogram: Keras parity on XLA and ONNX Runtime, weights, configs, a training step,
`.keras` files Keras saved, and MelSpectrogram's named ONNX refusal before opset 17 (ONNX's DFT)."""

import keras
import numpy as np
import pytest

import kgraph
from kgraph import layers
from kgraph.lowering.onnx.refusal import NoOnnxForm
from tests.layers.config_parity import assert_config_matches_keras
from tests.layers.keras_crossing import assert_keras_file_loads, assert_train_step_matches
from tests.layers.parity import check_layer

RNG = np.random.default_rng(2)
SIGNAL = RNG.normal(size=(2, 160, 2)).astype("float32")
AUDIO = RNG.normal(size=(2, 400)).astype("float32")

STFT_CASES = {
    "log-hann": dict(frame_length=32),
    "magnitude-same-spectrum": dict(mode="magnitude", frame_length=24, frame_step=8, fft_length=32,
                                    padding="same", scaling="spectrum"),
    "psd-expand": dict(mode="psd", frame_length=16, expand_dims=True, window="hamming", periodic=True),
    "stft-channels-first": dict(mode="stft", frame_length=16, data_format="channels_first"),
    "real-channels-first-expand": dict(mode="real", frame_length=16, data_format="channels_first",
                                       expand_dims=True, scaling=None),
    "imag": dict(mode="imag", frame_length=16, window=None),
    "angle": dict(mode="angle", frame_length=16, frame_step=4),
}


@pytest.mark.parametrize("case", sorted(STFT_CASES))
def test_stft_spectrogram_matches_keras_and_onnx(case, tmp_path):
    kwargs = STFT_CASES[case]
    x = SIGNAL if kwargs.get("data_format") != "channels_first" else np.swapaxes(SIGNAL, 1, 2).copy()
    check_layer(lambda lib: lib.layers.STFTSpectrogram(**kwargs), [x], rtol=1e-4, atol=1e-4,
                grad=case == "log-hann", tmp_dir=str(tmp_path))


def test_stft_spectrogram_weights_and_config_match_keras():
    for mode in ("log", "real", "imag"):
        ours, theirs = (lib.layers.STFTSpectrogram(mode=mode, frame_length=16, name="s") for lib in (kgraph, keras))
        ours.build((None, 64, 1))
        theirs.build((None, 64, 1))
        assert [(w.path, w.shape) for w in ours.weights] == [(w.path, tuple(w.shape)) for w in theirs.weights]
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert_config_matches_keras(lambda lib: lib.layers.STFTSpectrogram(
        mode="psd", frame_length=20, frame_step=5, fft_length=32, window="hamming", periodic=True, scaling=None,
        padding="same", expand_dims=True, data_format="channels_first"))


def _stft_model(lib):
    x = lib.Input(shape=(160, 2))
    features = lib.layers.Flatten()(lib.layers.STFTSpectrogram(mode="magnitude", frame_length=16, name="stft")(x))
    return lib.Model(x, lib.layers.Dense(1)(features))


def test_stft_spectrogram_training_step_and_keras_file(tmp_path):
    assert_train_step_matches(_stft_model, SIGNAL, np.ones((2, 1), "float32"), rtol=1e-4, atol=1e-5)
    assert_keras_file_loads(_stft_model, SIGNAL, tmp_path, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs", [
    dict(fft_length=64, sequence_stride=16, num_mel_bins=20),
    dict(fft_length=128, sequence_stride=32, sequence_length=100, window="hamming", num_mel_bins=16, min_freq=50.0,
         max_freq=6000, sampling_rate=16000, top_db=40.0, mag_exp=1.0, ref_power=2.0),
    dict(fft_length=64, sequence_stride=20, num_mel_bins=10, power_to_db=False, window=None),
], ids=["default-db", "hamming-windowed", "linear-power"])
def test_mel_spectrogram_matches_keras_and_onnx(kwargs, tmp_path):
    check_layer(lambda lib: lib.layers.MelSpectrogram(**kwargs), [AUDIO], rtol=1e-4, atol=1e-4,
                tmp_dir=str(tmp_path))


def test_mel_spectrogram_config_and_keras_file(tmp_path):
    assert_config_matches_keras(lambda lib: lib.layers.MelSpectrogram(
        fft_length=256, sequence_stride=64, sequence_length=200, window="hamming", sampling_rate=8000,
        num_mel_bins=40, min_freq=30.0, max_freq=3000, power_to_db=False, top_db=60.0, mag_exp=1.0,
        min_power=1e-8, ref_power=0.5))

    def build(lib):
        x = lib.Input(shape=(400,))
        return lib.Model(x, lib.layers.MelSpectrogram(fft_length=64, sequence_stride=16, num_mel_bins=20)(x))

    assert_keras_file_loads(build, AUDIO, tmp_path, rtol=1e-4, atol=1e-4)


def test_mel_spectrogram_export_before_opset_17_is_refused_naming_the_op_and_layer(tmp_path):
    x = kgraph.Input(shape=(400,))
    model = kgraph.Model(x, layers.MelSpectrogram(fft_length=64, sequence_stride=16, num_mel_bins=20, name="mel")(x))
    with pytest.raises(NoOnnxForm, match=r"(?s)rfft.*mel.*opset 16.*opset 17"):
        kgraph.export.export_onnx(model, str(tmp_path / "mel.onnx"), opset=16)
    assert not (tmp_path / "mel.onnx").exists()


def test_bad_arguments_fail_naming_them():
    with pytest.raises(ValueError, match="frame_step=40"):
        layers.STFTSpectrogram(frame_length=32, frame_step=40)
    with pytest.raises(ValueError, match="mode=power"):
        layers.STFTSpectrogram(mode="power")
    with pytest.raises(ValueError, match=r"'s'.*rank 3.*\(None, 64\)"):
        layers.STFTSpectrogram(name="s").build((None, 64))
    with pytest.raises(ValueError, match="`sequence_length`=300, `fft_length`=256"):
        layers.MelSpectrogram(fft_length=256, sequence_length=300)
