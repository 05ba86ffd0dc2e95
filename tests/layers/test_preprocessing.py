"""Rescaling, Normalization (and its `adapt`), CenterCrop and Resizing: Keras parity on XLA and ONNX Runtime,
configs and errors."""

import keras
import numpy as np
import pytest

import kgraph
from kgraph import layers
from tests.layers.parity import check_layer

RNG = np.random.default_rng(0)
IMAGES = RNG.normal(size=(2, 8, 10, 3)).astype("float32")
PIXELS = RNG.integers(0, 256, size=(2, 7, 9, 3)).astype("uint8")
FEATURES = (RNG.normal(size=(64, 4, 3)) * [1.0, 5.0, 0.1] + [0.0, 3.0, -1.0]).astype("float32")


def adapted(lib, data, **kwargs):
    layer = lib.layers.Normalization(**kwargs)
    layer.adapt(data)
    return layer


PARITY = {
    "rescaling": (lambda lib: lib.layers.Rescaling(1 / 255.0, offset=-0.5), PIXELS),
    "rescaling-per-channel": (lambda lib: lib.layers.Rescaling([1.0, 2.0, 3.0], offset=[0.0, 0.5, 1.0]), IMAGES),
    "normalization-adapted": (lambda lib: adapted(lib, FEATURES), FEATURES[:8]),
    "normalization-axes-invert": (lambda lib: adapted(lib, FEATURES, axis=(1, 2), invert=True), FEATURES[:8]),
    "normalization-fixed": (lambda lib: lib.layers.Normalization(axis=(1, 3), mean=[1.0, 2.0, 3.0],
                                                                 variance=[4.0, 0.0, 9.0]), IMAGES),
    "normalization-one-mean": (lambda lib: adapted(lib, FEATURES, axis=None), FEATURES[:8]),
    "center-crop": (lambda lib: lib.layers.CenterCrop(4, 5), PIXELS),
    "center-crop-upscale": (lambda lib: lib.layers.CenterCrop(10, 5), IMAGES),
    "resizing-bilinear-down": (lambda lib: lib.layers.Resizing(4, 5), IMAGES),
    "resizing-nearest-up": (lambda lib: lib.layers.Resizing(15, 11, interpolation="nearest"), IMAGES),
    # Halving puts source coordinates exactly between two pixels: JAX takes the later one.
    "resizing-nearest-halves": (lambda lib: lib.layers.Resizing(4, 5, interpolation="nearest"), IMAGES),
    "resizing-crop-to-aspect": (lambda lib: lib.layers.Resizing(6, 4, crop_to_aspect_ratio=True), IMAGES),
    # Rounding back to uint8: a value within float error of .5 may round one level apart in XLA and ONNX Runtime.
    "resizing-uint8": (lambda lib: lib.layers.Resizing(10, 4), PIXELS, 1.0),
    "resizing-channels-first": (lambda lib: lib.layers.Resizing(3, 12, data_format="channels_first"), IMAGES),
}


@pytest.mark.parametrize("case", sorted(PARITY))
def test_matches_keras_and_onnx(case):
    factory, x, *atol = PARITY[case]
    check_layer(factory, [x], rtol=1e-5, atol=atol[0] if atol else 1e-5)


def test_resizing_images_of_unknown_size_in_onnx(tmp_path):
    def build(lib):
        images = lib.Input(shape=(None, None, 3))
        return lib.Model(images, lib.layers.Resizing(4, 5)(lib.layers.Rescaling(2.0)(images)))

    ours, theirs = build(kgraph), build(keras)
    path = str(tmp_path / "resize.onnx")
    kgraph.export.export_onnx(ours, path)
    served = kgraph.runtime.OnnxModel(path)
    for x in (IMAGES, IMAGES[:, :5, :7]):
        expected = theirs.predict(x, verbose=0)
        np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(served.predict(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("images, kwargs", [
    (IMAGES, {"size": (5, 3)}), (IMAGES, {"size": (16, 4), "interpolation": "nearest"}),
    (IMAGES, {"size": (3, 6), "crop_to_aspect_ratio": True}),
    (IMAGES, {"size": (4, 4), "data_format": "channels_first"}),
    (IMAGES[0], {"size": (5, 3)}), (PIXELS, {"size": (5, 3)})], ids=["bilinear", "nearest", "crop", "channels-first",
                                                                    "one-image", "uint8"])
def test_image_resize_op_matches_keras(images, kwargs):
    ours, theirs = kgraph.ops.image.resize(images, **kwargs), keras.ops.image.resize(images, **kwargs)
    assert np.asarray(ours).dtype == np.asarray(theirs).dtype
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-5)


def test_crop_images_op_matches_keras_and_keeps_the_dtype():
    for kwargs in ({"top_cropping": 1, "left_cropping": 2, "target_height": 3, "target_width": 4},
                   {"bottom_cropping": 2, "right_cropping": 1, "target_height": 5, "target_width": 6},
                   {"top_cropping": 1, "bottom_cropping": 2, "left_cropping": 3, "right_cropping": 0}):
        ours = np.asarray(kgraph.ops.image.crop_images(PIXELS, **kwargs))
        np.testing.assert_array_equal(ours, np.asarray(keras.ops.image.crop_images(PIXELS, **kwargs)))
        assert ours.dtype == np.uint8
    with pytest.raises(ValueError, match=r"exactly two of top_cropping, bottom_cropping, target_height"):
        kgraph.ops.image.crop_images(PIXELS, top_cropping=1, left_cropping=1, target_width=2)
    with pytest.raises(ValueError, match=r"does not fit an image height of 7"):
        kgraph.ops.image.crop_images(PIXELS, top_cropping=5, target_height=4, left_cropping=0, target_width=2)
    with pytest.raises(ValueError, match=r"antialias"):
        kgraph.ops.image.resize(IMAGES, (3, 3), antialias=True)
    with pytest.raises(ValueError, match=r"size must be two positive ints.*\(3, 0\)"):
        kgraph.ops.image.resize(IMAGES, (3, 0))


@pytest.mark.parametrize("kwargs, count", [({}, 64 * 4), ({"axis": (1, 2)}, 64), ({"axis": None}, 64 * 4 * 3)])
def test_adapt_computes_keras_statistics_from_arrays_and_batches(kwargs, count):
    for data in (FEATURES, [FEATURES[:24], FEATURES[24:40], FEATURES[40:]]):
        ours, theirs = (adapted(lib, data, name="norm", **kwargs) for lib in (kgraph, keras))
        for name in ("mean", "variance"):
            np.testing.assert_allclose(getattr(ours, f"adapt_{name}").numpy(), getattr(theirs, f"adapt_{name}").numpy(),
                                       rtol=1e-5, atol=1e-6, err_msg=name)
        assert [(w.path, w.shape, w.dtype) for w in ours.weights] == \
            [(w.path, tuple(w.shape), w.dtype) for w in theirs.weights]
        assert int(ours.count.numpy()) == count  # the number of values each statistic saw (Keras leaves it 0)


def test_normalization_adapt_then_fit_keeps_the_statistics_fixed():
    norm = layers.Normalization()
    norm.adapt(FEATURES.reshape(-1, 3))
    inputs = kgraph.Input(shape=(3,))
    model = kgraph.Model(inputs, layers.Dense(1)(norm(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    mean = norm.adapt_mean.numpy().copy()
    model.fit(FEATURES.reshape(-1, 3), np.ones((256, 1), "float32"), epochs=1, verbose=0)
    np.testing.assert_array_equal(norm.adapt_mean.numpy(), mean)
    assert not norm.trainable_weights


@pytest.mark.parametrize("layer", [
    layers.Rescaling(scale=[0.5, 2.0], offset=1.0),
    layers.Normalization(axis=(1, 2), mean=[1.0, 2.0], variance=[3.0, 4.0], invert=True),
    layers.Normalization(axis=None),
    layers.CenterCrop(3, 4),
    layers.Resizing(3, 4, interpolation="nearest", crop_to_aspect_ratio=True, data_format="channels_first"),
], ids=["rescaling", "normalization-fixed", "normalization", "center-crop", "resizing"])
def test_config_round_trips_and_matches_keras_keys(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    theirs = getattr(keras.layers, type(layer).__name__).from_config(config).get_config()
    assert set(config) <= set(theirs)
    for key in set(config) - {"dtype"}:
        assert config[key] == theirs[key], key


def test_bad_configs_and_inputs_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"'norm'.*both `mean` and `variance`"):
        layers.Normalization(mean=[1.0], name="norm")
    with pytest.raises(ValueError, match=r"\(Normalization\).*shape \(2,\).*shape \(3,\)"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"'norm2'.*axis \(3,\).*\(None, 4\)"):
        layers.Normalization(axis=3, name="norm2").build((None, 4))
    with pytest.raises(ValueError, match=r"'norm3'.*built for inputs of shape \(64, 4, 3\).*\(5, 4, 2\)"):
        norm = layers.Normalization(name="norm3")
        norm.adapt(FEATURES)
        norm.adapt(np.zeros((5, 4, 2), "float32"))
    with pytest.raises(ValueError, match=r"'resize'.*interpolation.*'lanczos3'"):
        layers.Resizing(3, 4, interpolation="lanczos3", name="resize")
    with pytest.raises(ValueError, match=r"Resizing.*`height`.*0"):
        layers.Resizing(0, 4)
    with pytest.raises(ValueError, match=r"(?s)'crop'.*known image height and width.*\(None, None, None, 3\)"):
        layers.CenterCrop(3, 4, name="crop")(kgraph.Input(shape=(None, None, 3)))
    with pytest.raises(ValueError, match=r"(?s)'crop2'.*rank 3 or 4.*\(None, 8\)"):
        layers.CenterCrop(3, 4, name="crop2")(kgraph.Input(shape=(8,)))
