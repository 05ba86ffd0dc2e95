"""Cropping3D, UpSampling3D, ZeroPadding3D, adaptive pooling, RMSNormalization and AlphaDropout: Keras parity on
XLA and ONNX Runtime with gradients, configs equal to Keras', and bad arguments failing clearly."""

import keras
import numpy as np
import pytest

import kgraph
from tests.layers.config_parity import assert_config_matches_keras
from tests.layers.parity import check_layer

rng = np.random.default_rng(0)
VOL = rng.normal(size=(2, 4, 5, 6, 3)).astype("float32")
IMG = rng.normal(size=(2, 7, 9, 3)).astype("float32")
SEQ = rng.normal(size=(2, 10, 3)).astype("float32")

CASES = [
    ("cropping3d", lambda lib: lib.layers.Cropping3D(((1, 0), (1, 2), (0, 1))), VOL),
    ("cropping3d_channels_first", lambda lib: lib.layers.Cropping3D(1, data_format="channels_first"), VOL),
    ("zero_padding3d", lambda lib: lib.layers.ZeroPadding3D((1, 0, 2)), VOL),
    ("zero_padding3d_channels_first", lambda lib: lib.layers.ZeroPadding3D(1, data_format="channels_first"), VOL),
    ("up_sampling3d", lambda lib: lib.layers.UpSampling3D((1, 2, 3)), VOL),
    ("adaptive_avg_1d", lambda lib: lib.layers.AdaptiveAveragePooling1D(4), SEQ),
    ("adaptive_max_1d", lambda lib: lib.layers.AdaptiveMaxPooling1D(3), SEQ),
    ("adaptive_avg_2d", lambda lib: lib.layers.AdaptiveAveragePooling2D((3, 4)), IMG),
    ("adaptive_max_2d_channels_first", lambda lib: lib.layers.AdaptiveMaxPooling2D(2, data_format="channels_first"),
     IMG),
    ("adaptive_avg_3d_channels_first", lambda lib: lib.layers.AdaptiveAveragePooling3D(
        2, data_format="channels_first"), VOL),
    ("adaptive_max_3d", lambda lib: lib.layers.AdaptiveMaxPooling3D((2, 3, 4)), VOL),
    ("rms_normalization", lambda lib: lib.layers.RMSNormalization(), IMG),
    ("rms_normalization_axes", lambda lib: lib.layers.RMSNormalization(axis=[-1, -2], epsilon=1e-3), IMG),
    ("alpha_dropout_inference", lambda lib: lib.layers.AlphaDropout(0.3), IMG),
]


@pytest.mark.parametrize("name,factory,x", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_keras_xla_and_onnx(name, factory, x, tmp_path):
    check_layer(factory, [x], tmp_dir=str(tmp_path))


@pytest.mark.parametrize("factory,shape", [
    (lambda lib: lib.layers.Cropping3D(((1, 0), (1, 2), (0, 1))), None),
    (lambda lib: lib.layers.ZeroPadding3D(2, data_format="channels_first"), None),
    (lambda lib: lib.layers.UpSampling3D(3), None),
    (lambda lib: lib.layers.AdaptiveMaxPooling2D((3, 2)), None),
    (lambda lib: lib.layers.AdaptiveAveragePooling1D(5, data_format="channels_first"), None),
    (lambda lib: lib.layers.RMSNormalization(axis=-1, epsilon=1e-4, name="rms"), (None, 7, 3)),
    (lambda lib: lib.layers.AlphaDropout(0.2, noise_shape=(None, 1, 3), seed=4), None),
], ids=["cropping3d", "zero_padding3d", "up_sampling3d", "adaptive_max2d", "adaptive_avg1d", "rms", "alpha_dropout"])
def test_configs_equal_keras(factory, shape):
    assert_config_matches_keras(factory, shape)


def test_rms_normalization_weights_follow_keras():
    ours, theirs = kgraph.layers.RMSNormalization(axis=[-2, -1]), keras.layers.RMSNormalization(axis=[-2, -1])
    ours.build((None, 7, 9, 3))
    theirs.build((None, 7, 9, 3))
    assert [(w.name, w.shape) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]


def test_alpha_dropout_keeps_selu_statistics_while_training():
    x = rng.normal(size=(400, 200)).astype("float32")
    layer = kgraph.layers.AlphaDropout(0.2, seed=1)
    out = np.asarray(layer(x, training=True))
    assert abs(out.mean() - x.mean()) < 0.02 and abs(out.std() - x.std()) < 0.03
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.2) * (1 + 0.2 * alpha_p ** 2)) ** -0.5
    dropped = np.isclose(out, a * alpha_p + -a * alpha_p * 0.2, atol=1e-5)
    assert 0.17 < dropped.mean() < 0.23
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)


def test_bad_arguments_fail_naming_them():
    with pytest.raises(ValueError, match=r"needs inputs of rank 5"):
        kgraph.layers.UpSampling3D()(kgraph.Input(shape=(4, 4, 3)))
    with pytest.raises(ValueError, match=r"would crop axis 1"):
        kgraph.layers.Cropping3D(2)(kgraph.Input(shape=(4, 6, 6, 3)))
    with pytest.raises(TypeError, match=r"`output_size` must be"):
        kgraph.layers.AdaptiveAveragePooling2D((1, 2, 3))
    with pytest.raises(ValueError, match=r"needs known spatial sizes"):
        kgraph.layers.AdaptiveMaxPooling1D(2)(kgraph.Input(shape=(None, 3)))
    with pytest.raises(ValueError, match=r"rate"):
        kgraph.layers.AlphaDropout(1.5)
