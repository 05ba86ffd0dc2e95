"""ReLU, LeakyReLU, PReLU, ELU, Softmax (with masks): parity with Keras 3, ONNX and gradients; configs; errors."""

import keras
import numpy as np
import pytest

import kgraph
from kgraph import layers
from tests.layers.parity import assert_close, check_layer

rng = np.random.default_rng(0)
X2 = (rng.normal(size=(6, 7)) * 4).astype("float32")
X3 = (rng.normal(size=(4, 5, 6)) * 3).astype("float32")
X4 = rng.normal(size=(2, 3, 4, 5)).astype("float32")

CASES = [
    ("relu", lambda lib: lib.layers.ReLU(), X2),
    ("relu_max_value", lambda lib: lib.layers.ReLU(max_value=2.5), X2),
    ("relu6", lambda lib: lib.layers.ReLU(max_value=6.0), X2),
    ("relu_negative_slope", lambda lib: lib.layers.ReLU(negative_slope=0.1), X2),
    ("relu_threshold", lambda lib: lib.layers.ReLU(threshold=1.0), X2),
    ("relu_all", lambda lib: lib.layers.ReLU(max_value=3.0, negative_slope=0.2, threshold=0.5), X3),
    ("leaky_relu", lambda lib: lib.layers.LeakyReLU(), X2),
    ("leaky_relu_slope", lambda lib: lib.layers.LeakyReLU(negative_slope=0.05), X3),
    ("prelu", lambda lib: lib.layers.PReLU(alpha_initializer="random_normal"), X3),
    ("prelu_shared", lambda lib: lib.layers.PReLU(alpha_initializer="random_normal", shared_axes=[1, 2]), X4),
    ("prelu_shared_int", lambda lib: lib.layers.PReLU(alpha_initializer="random_normal", shared_axes=1), X3),
    ("elu", lambda lib: lib.layers.ELU(), X2),
    ("elu_alpha", lambda lib: lib.layers.ELU(alpha=0.4), X3),
    ("softmax", lambda lib: lib.layers.Softmax(), X2),
    ("softmax_axis_1", lambda lib: lib.layers.Softmax(axis=1), X3),
    ("softmax_two_axes", lambda lib: lib.layers.Softmax(axis=(1, 2)), X3),
]


@pytest.mark.parametrize("factory,x", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matches_keras_in_xla_onnx_and_gradients(factory, x):
    check_layer(factory, [x])


MASKS = [
    ("bool_same_shape", lambda: rng.random(X3.shape) > 0.3),
    ("float_broadcast", lambda: (rng.random((X3.shape[0], 1, X3.shape[2])) > 0.4).astype("float32")),
    ("fully_masked_rows", lambda: np.broadcast_to(np.array([True, False, True, False, True])[None, :, None],
                                                  X3.shape).copy()),
]


@pytest.mark.parametrize("make_mask", [c[1] for c in MASKS], ids=[c[0] for c in MASKS])
def test_softmax_with_a_mask_matches_keras_in_xla_and_onnx(make_mask, tmp_path):
    mask = make_mask()
    models = []
    for lib in (keras, kgraph):
        x_in = lib.Input(shape=X3.shape[1:])
        m_in = lib.Input(shape=mask.shape[1:], dtype=str(mask.dtype))
        models.append(lib.Model([x_in, m_in], lib.layers.Softmax(axis=1)(x_in, mask=m_in)))
    theirs, ours = models
    expected = theirs.predict([X3, mask], verbose=0)
    actual = ours.predict([X3, mask], verbose=0)
    assert_close(actual, expected, 1e-5, 1e-6, "masked softmax: kgraph vs Keras")
    path = tmp_path / "masked_softmax.onnx"
    kgraph.export.export_onnx(ours, path)
    assert_close(kgraph.runtime.OnnxModel(path).predict([X3, mask]), actual, 1e-5, 1e-6, "ONNX Runtime vs XLA")
    np.testing.assert_array_equal(actual[~np.broadcast_to(mask.astype(bool), X3.shape)], 0.0)


def test_prelu_weight_shape_and_masks_pass_through():
    layer = layers.PReLU(shared_axes=[1, 2], name="p")
    layer.build((None, 3, 4, 5))
    assert [(w.path, w.shape) for w in layer.weights] == [("p/alpha", (1, 1, 5))]
    assert all(cls.supports_masking for cls in (layers.ReLU, layers.LeakyReLU, layers.PReLU, layers.ELU,
                                                layers.Softmax))


CONFIGS = [
    lambda lib: lib.layers.ReLU(max_value=4.0, negative_slope=0.1, threshold=0.5, name="r"),
    lambda lib: lib.layers.LeakyReLU(negative_slope=0.1, name="l"),
    lambda lib: lib.layers.PReLU(alpha_initializer="ones", alpha_regularizer=lib.regularizers.L2(0.1),
                                 shared_axes=[1], name="p"),
    lambda lib: lib.layers.ELU(alpha=0.5, name="e"),
    lambda lib: lib.layers.Softmax(axis=[1, 2], name="s"),
]


@pytest.mark.parametrize("factory", CONFIGS, ids=["relu", "leaky_relu", "prelu", "elu", "softmax"])
def test_config_round_trips_and_agrees_with_keras(factory):
    layer = factory(kgraph)
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    theirs = factory(keras).get_config()
    for key in set(config) & set(theirs) - {"dtype", "alpha_initializer", "alpha_regularizer"}:
        assert config[key] == theirs[key], key


def test_leaky_relu_accepts_keras_2_alpha_with_a_warning():
    with pytest.warns(UserWarning, match="alpha"):
        layer = layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1


def test_bad_arguments_fail_naming_them_and_prelu_fails_at_build_naming_layer_and_shape():
    for make, name in ((lambda: layers.ReLU(max_value=-1.0), "max_value"),
                       (lambda: layers.ReLU(negative_slope=-0.1), "negative_slope"),
                       (lambda: layers.ReLU(threshold=-1.0), "threshold"),
                       (lambda: layers.LeakyReLU(negative_slope=-0.3), "negative_slope")):
        with pytest.raises(ValueError, match=name):
            make()
    with pytest.raises(ValueError, match=r"'p'.*shared_axes.*\(None, 3, 4\)"):
        layers.PReLU(shared_axes=[0], name="p").build((None, 3, 4))
    with pytest.raises(ValueError, match=r"'q'.*\(None, None, 4\).*unknown"):
        layers.PReLU(name="q").build((None, None, 4))
    with pytest.raises(ValueError, match=r"Softmax.*\(None, 5, 6\).*\(None, 5, 6, 2\)"):
        x_in, m_in = kgraph.Input(shape=(5, 6)), kgraph.Input(shape=(5, 6, 2), dtype="bool")
        layers.Softmax()(x_in, mask=m_in)
