"""Convolution layers: Keras parity (XLA, ONNX Runtime, gradients), weights, configs, build-time errors."""

import keras
import numpy as np
import pytest

import kgraph
from kgraph import layers
from tests.layers.parity import check_layer

rng = np.random.default_rng(0)
SEQ = rng.normal(size=(2, 9, 4)).astype("float32")
SEQ_CF = np.ascontiguousarray(SEQ.transpose(0, 2, 1))
IMG = rng.normal(size=(2, 8, 7, 4)).astype("float32")
IMG_CF = np.ascontiguousarray(IMG.transpose(0, 3, 1, 2))
VOL = rng.normal(size=(2, 5, 6, 4, 2)).astype("float32")


def make(class_name, *args, **kwargs):
    return lambda lib: getattr(lib.layers, class_name)(*args, **kwargs)


# (id, factory, input, rtol)
CASES = [
    ("conv1d", make("Conv1D", 5, 3), SEQ, 1e-5),
    ("conv1d_same_strided", make("Conv1D", 5, 3, strides=2, padding="same"), SEQ, 1e-5),
    ("conv1d_causal_dilated", make("Conv1D", 5, 3, padding="causal", dilation_rate=2, activation="relu"), SEQ, 1e-5),
    ("conv1d_groups", make("Conv1D", 6, 2, groups=2, use_bias=False), SEQ, 1e-5),
    ("conv1d_channels_first", make("Conv1D", 5, 3, padding="causal", data_format="channels_first"), SEQ_CF, 1e-5),
    ("conv2d", make("Conv2D", 6, 3), IMG, 1e-5),
    ("conv2d_same_strided", make("Conv2D", 6, (3, 2), strides=2, padding="same", activation="tanh"), IMG, 1e-5),
    ("conv2d_dilated", make("Conv2D", 6, 3, padding="same", dilation_rate=(2, 1)), IMG, 1e-5),
    ("conv2d_groups", make("Conv2D", 6, 3, groups=2, padding="same"), IMG, 1e-5),
    ("conv2d_depthwise_groups", make("Conv2D", 8, 1, groups=4), IMG, 1e-5),
    ("conv2d_channels_first", make("Conv2D", 6, 3, strides=(2, 1), padding="same", data_format="channels_first"),
     IMG_CF, 1e-5),
    ("conv3d", make("Conv3D", 3, (2, 3, 2), padding="same", strides=(1, 2, 2)), VOL, 1e-5),
    ("conv1d_transpose", make("Conv1DTranspose", 5, 3, strides=2), SEQ, 1e-5),
    ("conv1d_transpose_same", make("Conv1DTranspose", 5, 4, strides=3, padding="same"), SEQ, 1e-5),
    ("conv2d_transpose_same", make("Conv2DTranspose", 5, 3, strides=2, padding="same"), IMG, 1e-5),
    ("conv2d_transpose_output_padding", make("Conv2DTranspose", 5, 3, strides=(3, 2), output_padding=(1, 0)), IMG,
     1e-5),
    ("conv2d_transpose_same_output_padding",
     make("Conv2DTranspose", 5, 2, strides=2, padding="same", output_padding=1), IMG, 1e-5),
    ("conv2d_transpose_dilated", make("Conv2DTranspose", 5, 3, dilation_rate=2, use_bias=False), IMG, 1e-5),
    ("conv2d_transpose_channels_first",
     make("Conv2DTranspose", 5, 3, strides=2, padding="same", data_format="channels_first"), IMG_CF, 1e-5),
    ("conv3d_transpose", make("Conv3DTranspose", 3, 2, strides=2, padding="same"), VOL, 1e-5),
    ("depthwise_conv1d", make("DepthwiseConv1D", 3, depth_multiplier=2, padding="same"), SEQ, 1e-5),
    ("depthwise_conv2d", make("DepthwiseConv2D", 3, strides=2, depth_multiplier=2, activation="relu"), IMG, 1e-5),
    ("depthwise_conv2d_channels_first", make("DepthwiseConv2D", (3, 2), padding="same", data_format="channels_first"),
     IMG_CF, 1e-5),
    ("separable_conv1d", make("SeparableConv1D", 5, 3, padding="same", depth_multiplier=2), SEQ, 1e-5),
    ("separable_conv2d", make("SeparableConv2D", 5, 3, strides=2), IMG, 1e-5),
    ("separable_conv2d_channels_first",
     make("SeparableConv2D", 5, 3, padding="same", data_format="channels_first"), IMG_CF, 1e-5),
]


@pytest.mark.parametrize("case_id,factory,x,rtol", CASES, ids=[c[0] for c in CASES])
def test_matches_keras_onnx_and_gradients(case_id, factory, x, rtol, tmp_path):
    model = check_layer(factory, [x], rtol=rtol, atol=1e-5, tmp_dir=str(tmp_path))
    ours = model.layers[-1]
    theirs = factory(keras)
    theirs.build((None,) + x.shape[1:])
    assert [(w.name, w.shape) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]


CONFIG_CASES = [
    make("Conv1D", 4, 3, padding="causal", dilation_rate=2, groups=2, activation="relu",
         kernel_regularizer="l2", name="c1"),
    make("Conv2D", 8, (3, 1), strides=(2, 1), padding="same", data_format="channels_first", use_bias=False,
         kernel_initializer="he_normal", name="c2"),
    make("Conv3D", 2, 2, name="c3"),
    make("Conv2DTranspose", 3, 3, strides=2, padding="same", output_padding=1, name="t2"),
    make("Conv3DTranspose", 3, 2, strides=2, name="t3"),
    make("DepthwiseConv2D", 3, depth_multiplier=3, depthwise_regularizer="l1", name="d2"),
    make("SeparableConv2D", 4, 3, depth_multiplier=2, pointwise_initializer="zeros", name="s2"),
]


@pytest.mark.parametrize("factory", CONFIG_CASES, ids=lambda f: f(keras).name)
def test_config_round_trip_has_keras_keys_and_values(factory):
    ours, theirs = factory(kgraph), factory(keras)
    config, keras_config = ours.get_config(), theirs.get_config()
    assert set(config) <= set(keras_config) | {"dtype"}
    for key in config:
        if key in ("dtype", "kernel_initializer", "depthwise_initializer", "pointwise_initializer",
                   "bias_initializer", "kernel_regularizer", "depthwise_regularizer", "pointwise_regularizer",
                   "bias_regularizer", "activity_regularizer"):
            continue
        expected = keras_config[key]
        assert config[key] == (tuple(expected) if isinstance(expected, list) else expected), key
    clone = type(ours).from_config(config)
    assert clone.get_config() == config


def test_regularizers_and_initializers_survive_the_round_trip():
    layer = layers.Conv2D(3, 3, kernel_initializer="he_normal", kernel_regularizer=kgraph.regularizers.L2(0.01))
    clone = layers.Conv2D.from_config(layer.get_config())
    assert isinstance(clone.kernel_initializer, kgraph.initializers.HeNormal)
    assert clone.kernel_regularizer.l2 == pytest.approx(0.01)
    clone.build((None, 5, 5, 2))
    assert len(clone.losses) == 1


@pytest.mark.parametrize("factory,shape,match", [
    (make("Conv2D", 4, 5, name="big"), (None, 4, 4, 3),
     r"'big' \(Conv2D\).*\(5, 5\).*does not fit spatial dim 0 of the input of shape \(None, 4, 4, 3\)"),
    (make("Conv1D", 4, 3, dilation_rate=3, name="dil"), (None, 6, 3), r"'dil' \(Conv1D\).*does not fit"),
    (make("Conv2D", 4, 3, groups=2, name="grp"), (None, 8, 8, 3),
     r"'grp' \(Conv2D\).*3 channels must be divisible by groups=2; input shape \(None, 8, 8, 3\)"),
    (make("Conv2D", 4, 3, name="rank"), (None, 8, 3), r"'rank' \(Conv2D\) expects inputs of rank 4.*\(None, 8, 3\)"),
    (make("Conv2D", 4, 3, data_format="channels_first", name="cf"), (None, None, 8, 8),
     r"'cf' \(Conv2D\) needs a known channel dim"),
    (make("DepthwiseConv2D", 4, name="dw"), (None, 3, 3, 2), r"'dw' \(DepthwiseConv2D\).*does not fit"),
    (make("SeparableConv1D", 2, 4, name="sep"), (None, 3, 2), r"'sep' \(SeparableConv1D\).*does not fit"),
])
def test_bad_input_shapes_fail_at_build_naming_the_layer_and_shapes(factory, shape, match):
    with pytest.raises(ValueError, match=match):
        factory(kgraph)(kgraph.Input(shape=shape[1:]))


@pytest.mark.parametrize("build,match", [
    (lambda: layers.Conv2D(-1, 3, name="neg"), r"'neg' \(Conv2D\): `filters` must be a positive int.*-1"),
    (lambda: layers.Conv2D(6, 3, groups=4, name="g"), r"'g' \(Conv2D\): filters=6 must be divisible by groups=4"),
    (lambda: layers.Conv2D(4, (3, 3, 3), name="k"), r"'k' \(Conv2D\).*kernel_size.*2 positive ints"),
    (lambda: layers.Conv2D(4, 3, padding="causal", name="p"), r"'p' \(Conv2D\).*padding"),
    (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2, name="sd"), r"'sd' \(Conv2D\).*strides > 1"),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2, name="op"),
     r"'op' \(Conv2DTranspose\): output_padding.*below its stride"),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0, name="dm"), r"'dm' \(DepthwiseConv2D\).*depth_multiplier"),
    (lambda: layers.Conv1D(4, 3, data_format="nhwc", name="df"), r"'df' \(Conv1D\).*data_format"),
])
def test_bad_arguments_fail_at_construction_naming_the_layer(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_output_shapes_match_keras_including_unknown_dims():
    for factory, shape in ((make("Conv1D", 3, 3, strides=2), (None, None, 4)),
                           (make("Conv2DTranspose", 3, 3, strides=2, padding="same"), (None, 5, None, 4)),
                           (make("SeparableConv2D", 3, 3, padding="same", strides=2), (None, 7, 7, 4)),
                           (make("DepthwiseConv2D", 3, depth_multiplier=2), (None, 7, 7, 4))):
        ours, theirs = factory(kgraph), factory(keras)
        assert ours(kgraph.Input(shape=shape[1:])).shape == tuple(theirs.compute_output_shape(shape))


def test_conv1d_on_a_dynamic_time_dim_exports_and_runs_at_other_lengths(tmp_path):
    inputs = kgraph.Input(shape=(None, 4))
    outputs = layers.Conv1D(3, 3, padding="causal")(layers.Conv1D(5, 2, strides=2)(inputs))
    model = kgraph.Model(inputs, outputs)
    path = str(tmp_path / "seq.onnx")
    kgraph.export.export_onnx(model, path)
    served = kgraph.runtime.OnnxModel(path)
    for length in (6, 11):
        x = rng.normal(size=(3, length, 4)).astype("float32")
        np.testing.assert_allclose(served.predict(x), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_a_small_convnet_fits_a_small_batch():
    data = np.random.default_rng(2)
    x = data.normal(size=(16, 12, 12, 1)).astype("float32")
    y = data.integers(0, 2, 16).astype("int32")
    kgraph.utils.set_random_seed(0)
    model = kgraph.Sequential([kgraph.Input((12, 12, 1)), layers.Conv2D(8, 3, activation="relu"),
                               layers.MaxPooling2D(), layers.SeparableConv2D(8, 3, padding="same"),
                               layers.GlobalAveragePooling2D(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer=kgraph.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    losses = model.fit(x, y, epochs=40, batch_size=16, verbose=0).history["loss"]
    assert losses[0] > 0.5 and losses[-1] < 0.2
