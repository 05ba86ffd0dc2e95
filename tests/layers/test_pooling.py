"""Pooling layers: Keras parity (XLA, ONNX Runtime, gradients through them), masks, configs, build-time errors;
and the models of Keras' guides that use them export to ONNX and match predict."""

import keras
import numpy as np
import onnx
import pytest

import kgraph
from kgraph import layers
from tests.layers.parity import check_layer

rng = np.random.default_rng(1)
SEQ = rng.normal(size=(2, 9, 3)).astype("float32")
IMG = rng.normal(size=(2, 7, 8, 3)).astype("float32")
IMG_CF = np.ascontiguousarray(IMG.transpose(0, 3, 1, 2))
VOL = rng.normal(size=(2, 5, 4, 6, 2)).astype("float32")


def make(class_name, *args, **kwargs):
    return lambda lib: getattr(lib.layers, class_name)(*args, **kwargs)


CASES = [
    ("max_pooling1d", make("MaxPooling1D"), SEQ),
    ("max_pooling1d_same_strided", make("MaxPooling1D", 3, 2, padding="same"), SEQ),
    ("max_pooling2d", make("MaxPooling2D"), IMG),
    ("max_pooling2d_same", make("MaxPooling2D", (3, 2), strides=(2, 1), padding="same"), IMG),
    ("max_pooling2d_channels_first", make("MaxPooling2D", 2, padding="same", data_format="channels_first"), IMG_CF),
    ("max_pooling3d", make("MaxPooling3D", 2, padding="same"), VOL),
    ("average_pooling1d", make("AveragePooling1D", 2), SEQ),
    ("average_pooling1d_same", make("AveragePooling1D", 4, strides=3, padding="same"), SEQ),
    ("average_pooling2d", make("AveragePooling2D", (2, 3)), IMG),
    ("average_pooling2d_same", make("AveragePooling2D", 3, strides=2, padding="same"), IMG),
    ("average_pooling2d_channels_first",
     make("AveragePooling2D", 3, strides=1, padding="same", data_format="channels_first"), IMG_CF),
    ("average_pooling3d_same", make("AveragePooling3D", (2, 3, 2), padding="same"), VOL),
    ("global_max_pooling1d", make("GlobalMaxPooling1D"), SEQ),
    ("global_max_pooling2d_keepdims", make("GlobalMaxPooling2D", keepdims=True), IMG),
    ("global_max_pooling2d_channels_first", make("GlobalMaxPooling2D", data_format="channels_first"), IMG_CF),
    ("global_max_pooling3d", make("GlobalMaxPooling3D"), VOL),
    ("global_average_pooling1d", make("GlobalAveragePooling1D"), SEQ),
    ("global_average_pooling2d", make("GlobalAveragePooling2D"), IMG),
    ("global_average_pooling2d_channels_first_keepdims",
     make("GlobalAveragePooling2D", data_format="channels_first", keepdims=True), IMG_CF),
    ("global_average_pooling3d_keepdims", make("GlobalAveragePooling3D", keepdims=True), VOL),
]


@pytest.mark.parametrize("case_id,factory,x", CASES, ids=[c[0] for c in CASES])
def test_matches_keras_and_onnx(case_id, factory, x, tmp_path):
    model = check_layer(factory, [x], tmp_dir=str(tmp_path))
    shape = (None,) + x.shape[1:]
    assert model.layers[-1].compute_output_shape(shape) == factory(keras).compute_output_shape(shape)


@pytest.mark.parametrize("pool", ["MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling2D"])
def test_gradients_flow_through_pooling_into_a_conv_kernel(pool, tmp_path):
    """Gradients w.r.t. a Conv2D kernel under the pooling, vs Keras (the harness differentiates weights)."""
    pool_args = {"padding": "same", "pool_size": 3, "strides": 2} if not pool.startswith("Global") else {}

    def factory(lib):
        return lib.Sequential([lib.layers.Conv2D(4, 2, padding="same"), getattr(lib.layers, pool)(**pool_args)])

    check_layer(factory, [IMG], rtol=1e-5, atol=1e-5, tmp_dir=str(tmp_path))


def test_global_average_pooling1d_averages_only_unmasked_steps():
    mask = np.array([[1, 1, 0, 1, 0, 0, 1, 1, 1], [1] * 9], bool)
    x = SEQ.copy()
    x[0, 2] = np.inf
    for keepdims in (False, True):
        ours = np.asarray(layers.GlobalAveragePooling1D(keepdims=keepdims)(x, mask=mask))
        theirs = np.asarray(keras.layers.GlobalAveragePooling1D(keepdims=keepdims)(x, mask=mask))
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    cf = np.ascontiguousarray(x.transpose(0, 2, 1))
    np.testing.assert_allclose(np.asarray(layers.GlobalAveragePooling1D(data_format="channels_first")(cf, mask=mask)),
                               np.asarray(layers.GlobalAveragePooling1D()(x, mask=mask)), rtol=1e-6)
    assert np.isfinite(np.asarray(layers.GlobalAveragePooling1D()(x, mask=mask))).all()


@pytest.mark.parametrize("factory", [make("MaxPooling2D", 3, strides=(1, 2), padding="same", name="p"),
                                     make("AveragePooling1D", 2, data_format="channels_first", name="a"),
                                     make("MaxPooling3D", name="m"),
                                     make("GlobalAveragePooling2D", keepdims=True, data_format="channels_first",
                                          name="g")],
                         ids=lambda f: f(keras).name)
def test_config_round_trip_has_keras_keys_and_values(factory):
    ours, theirs = factory(kgraph), factory(keras)
    config, keras_config = ours.get_config(), theirs.get_config()
    assert set(config) <= set(keras_config)
    for key in set(config) - {"dtype"}:
        expected = keras_config[key]
        assert config[key] == (tuple(expected) if isinstance(expected, list) else expected), key
    assert type(ours).from_config(config).get_config() == config


@pytest.mark.parametrize("factory,shape,match", [
    (make("MaxPooling2D", 5, name="big"), (None, 4, 8, 3),
     r"'big' \(MaxPooling2D\).*\(5, 5\).*does not fit spatial dim 0 of the input of shape \(None, 4, 8, 3\)"),
    (make("AveragePooling1D", 4, data_format="channels_first", name="cf"), (None, 8, 3),
     r"'cf' \(AveragePooling1D\).*does not fit spatial dim 0 of the input of shape \(None, 8, 3\)"),
    (make("MaxPooling2D", name="rank"), (None, 8, 3), r"'rank' \(MaxPooling2D\) expects inputs of rank 4"),
    (make("GlobalMaxPooling1D", name="g"), (None, 4, 4, 3), r"'g' \(GlobalMaxPooling1D\) expects inputs of rank 3"),
])
def test_bad_input_shapes_fail_at_build_naming_the_layer_and_shapes(factory, shape, match):
    with pytest.raises(ValueError, match=match):
        factory(kgraph)(kgraph.Input(shape=shape[1:]))


@pytest.mark.parametrize("build,match", [
    (lambda: layers.MaxPooling2D(padding="causal", name="p"), r"'p' \(MaxPooling2D\).*padding"),
    (lambda: layers.AveragePooling2D((2, 0), name="z"), r"'z' \(AveragePooling2D\).*pool_size"),
    (lambda: layers.MaxPooling1D(2, strides=(1, 1), name="s"), r"'s' \(MaxPooling1D\).*strides"),
    (lambda: layers.GlobalMaxPooling2D(data_format="NHWC", name="f"), r"'f' \(GlobalMaxPooling2D\).*data_format"),
])
def test_bad_arguments_fail_at_construction_naming_the_layer(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def _dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_the_guides_multi_input_multi_output_model_exports_with_dynamic_dims(tmp_path):
    """Keras' functional API guide: an image and a variable-length time series, a score and a class output."""
    models = []
    for lib in (keras, kgraph):
        image_input = lib.Input((32, 32, 3), name="img_input")
        timeseries_input = lib.Input((None, 10), name="ts_input")
        x1 = lib.layers.GlobalMaxPooling2D()(lib.layers.Conv2D(3, 3)(image_input))
        x2 = lib.layers.GlobalMaxPooling1D()(lib.layers.Conv1D(3, 3)(timeseries_input))
        x = lib.ops.concatenate([x1, x2], axis=-1)
        score_output = lib.layers.Dense(1, name="score_output")(x)
        class_output = lib.layers.Dense(5, name="class_output")(x)
        models.append(lib.Model(inputs=[image_input, timeseries_input], outputs=[score_output, class_output]))
    theirs, model = models
    model.set_weights(theirs.get_weights())
    path = str(tmp_path / "guide.onnx")
    kgraph.export.export_onnx(model, path, verify=True)
    proto = onnx.load(path)
    inputs = {i.name: _dims(i) for i in proto.graph.input}
    assert inputs["img_input"] == ["batch", 32, 32, 3]
    ts_dims = inputs["ts_input"]
    assert ts_dims[0] == "batch" and isinstance(ts_dims[1], str) and ts_dims[2] == 10
    assert [o.name for o in proto.graph.output] == ["score_output", "class_output"]
    served = kgraph.runtime.OnnxModel(path)
    for batch, steps in ((2, 7), (5, 20)):
        feeds = [rng.normal(size=(batch, 32, 32, 3)).astype("float32"),
                 rng.normal(size=(batch, steps, 10)).astype("float32")]
        expected = model.predict(feeds, verbose=0)
        for got, want, keras_out in zip(served.predict(feeds), expected, theirs.predict(feeds, verbose=0)):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(want, keras_out, rtol=1e-5, atol=1e-5)


def test_a_max_pooling2d_model_exports_and_matches_predict(tmp_path):
    """Keras 3's own ONNX exporter fails on MaxPooling2D; kgraph's exports one MaxPool node."""
    inputs = kgraph.Input((28, 28, 1))
    x = layers.Conv2D(8, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(8, 3, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    outputs = layers.Dense(10, activation="softmax")(layers.GlobalAveragePooling2D()(x))
    model = kgraph.Model(inputs, outputs)
    path = str(tmp_path / "cnn.onnx")
    kgraph.export.export_onnx(model, path, verify=True)
    assert [n.op_type for n in onnx.load(path).graph.node].count("MaxPool") == 2
    x = rng.normal(size=(6, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(kgraph.runtime.OnnxModel(path).predict(x), model.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)
