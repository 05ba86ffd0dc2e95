"""Image augmentation layers: with a degenerate factor range the random transform is fixed, so training outputs
equal Keras 3's exactly; otherwise identity in inference (XLA and ONNX Runtime), seeded, random in training, and
trainable inside models; configs equal to Keras'."""

import keras
import numpy as np
import pytest

import kgraph
from tests.layers.config_parity import assert_config_matches_keras
from tests.layers.parity import check_layer

rng = np.random.default_rng(0)
IMAGES = (rng.random((2, 8, 9, 3)) * 255).astype("float32")

FIXED = [
    ("rotation_quarter_turn", lambda lib: lib.layers.RandomRotation((0.25, 0.25)), IMAGES),
    ("rotation_constant_nearest", lambda lib: lib.layers.RandomRotation(
        (0.1, 0.1), fill_mode="constant", fill_value=3.0, interpolation="nearest"), IMAGES),
    ("rotation_channels_first", lambda lib: lib.layers.RandomRotation((0.1, 0.1), data_format="channels_first"),
     IMAGES.transpose(0, 3, 1, 2)),
    ("zoom_in_out", lambda lib: lib.layers.RandomZoom((-0.3, -0.3), (0.2, 0.2)), IMAGES),
    ("zoom_out_wrap", lambda lib: lib.layers.RandomZoom((0.5, 0.5), fill_mode="wrap"), IMAGES),
    ("translation_nearest", lambda lib: lib.layers.RandomTranslation((0.2, 0.2), (-0.3, -0.3),
                                                                     fill_mode="nearest"), IMAGES),
    ("brightness", lambda lib: lib.layers.RandomBrightness((0.1, 0.1)), IMAGES),
    ("contrast_identity", lambda lib: lib.layers.RandomContrast(0.0), IMAGES),
    ("crop_from_smaller", lambda lib: lib.layers.RandomCrop(10, 12), IMAGES),
    ("single_image", lambda lib: lib.layers.RandomRotation((0.25, 0.25)), IMAGES[0]),
]


@pytest.mark.parametrize("name,factory,x", FIXED, ids=[c[0] for c in FIXED])
def test_fixed_transforms_equal_keras_in_training(name, factory, x):
    expected = np.asarray(factory(keras)(x, training=True))
    np.testing.assert_allclose(np.asarray(factory(kgraph)(x, training=True)), expected, rtol=1e-5, atol=1e-3)


RANDOM = {
    "flip": lambda lib: lib.layers.RandomFlip(),
    "rotation": lambda lib: lib.layers.RandomRotation(0.2),
    "zoom": lambda lib: lib.layers.RandomZoom(0.2, 0.1),
    "translation": lambda lib: lib.layers.RandomTranslation(0.1, 0.2),
    "crop": lambda lib: lib.layers.RandomCrop(5, 4),
    "contrast": lambda lib: lib.layers.RandomContrast(0.3),
    "brightness": lambda lib: lib.layers.RandomBrightness(0.2),
    "shear": lambda lib: lib.layers.RandomShear((0.1, 0.2), (0.1, 0.3)),
}


def test_identity_in_inference_through_xla_and_onnx(tmp_path):
    def stack(lib):
        return lib.Sequential([RANDOM[name](lib) for name in sorted(RANDOM)])

    check_layer(stack, [IMAGES], rtol=1e-5, atol=1e-4, tmp_dir=str(tmp_path))


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_configs_equal_keras(name):
    if name == "crop":
        assert_config_matches_keras(lambda lib: lib.layers.RandomCrop(5, 4, seed=3))
    else:
        assert_config_matches_keras(RANDOM[name])


def test_training_draws_differ_per_image_and_repeat_with_a_seed():
    flips = np.asarray(kgraph.layers.RandomFlip("horizontal", seed=3)(np.repeat(IMAGES[:1], 16, 0)))
    flipped = [np.allclose(image, IMAGES[0, :, ::-1]) for image in flips]
    assert all(f or np.allclose(image, IMAGES[0]) for f, image in zip(flipped, flips)) and 0 < sum(flipped) < 16
    first = np.asarray(kgraph.layers.RandomRotation(0.3, seed=5)(IMAGES))
    np.testing.assert_array_equal(np.asarray(kgraph.layers.RandomRotation(0.3, seed=5)(IMAGES)), first)
    assert not np.allclose(first, IMAGES)
    brightened = np.asarray(kgraph.layers.RandomBrightness(0.2, value_range=(-1000, 1000), seed=1)(IMAGES))
    shift = (brightened - IMAGES).reshape(2, -1)
    assert np.allclose(shift, shift[:, :1], atol=1e-3) and np.all(np.abs(shift[:, 0]) <= 400)
    cropped = np.asarray(kgraph.layers.RandomCrop(5, 4, seed=2)(IMAGES))
    assert cropped.shape == (2, 5, 4, 3)
    assert any(np.array_equal(cropped, IMAGES[:, i:i + 5, j:j + 4]) for i in range(4) for j in range(6))


@pytest.mark.slow
def test_augmentation_trains_inside_a_model():
    inputs = kgraph.Input(shape=(8, 9, 3))
    x = kgraph.layers.RandomZoom(0.2)(kgraph.layers.RandomRotation(0.2)(kgraph.layers.RandomFlip()(inputs)))
    x = kgraph.layers.RandomContrast(0.2)(kgraph.layers.RandomTranslation(0.1, 0.1)(x))
    model = kgraph.Model(inputs, kgraph.layers.Dense(2)(kgraph.layers.GlobalAveragePooling2D()(x)))
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(IMAGES / 255.0, np.zeros((2, 2), "float32"), epochs=2, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    np.testing.assert_allclose(model.predict(IMAGES, verbose=0), model(IMAGES, training=False), rtol=1e-5)


def test_bad_arguments_fail_naming_them():
    with pytest.raises(ValueError, match=r"unknown mode"):
        kgraph.layers.RandomFlip("diagonal")
    with pytest.raises(ValueError, match=r"`factor` argument"):
        kgraph.layers.RandomRotation(2.0)
    with pytest.raises(NotImplementedError, match=r"fill_mode"):
        kgraph.layers.RandomZoom(0.1, fill_mode="mirror-ish")
    with pytest.raises(ValueError, match=r"rank 3 or 4"):
        kgraph.layers.RandomFlip()(np.zeros((2, 3), "float32"))


COLOR_FIXED = [
    ("grayscale_always", lambda lib: lib.layers.RandomGrayscale(factor=1.0)),
    ("invert_always", lambda lib: lib.layers.RandomInvert(factor=(1.0, 1.0), value_range=(0, 255))),
    ("auto_contrast", lambda lib: lib.layers.AutoContrast()),
    ("solarization_inverts_all", lambda lib: lib.layers.Solarization(value_range=(0, 300))),
    ("color_degeneration", lambda lib: lib.layers.RandomColorDegeneration((0.4, 0.4))),
    ("pipeline", lambda lib: lib.layers.Pipeline([lib.layers.RandomBrightness((0.1, 0.1)),
                                                  lib.layers.AutoContrast(value_range=(0, 300))])),
]


@pytest.mark.parametrize("name,factory", COLOR_FIXED, ids=[c[0] for c in COLOR_FIXED])
def test_color_layers_equal_keras_in_training(name, factory):
    expected = np.asarray(factory(keras)(IMAGES, training=True))
    np.testing.assert_allclose(np.asarray(factory(kgraph)(IMAGES, training=True)), expected, rtol=1e-5, atol=1e-3)


def test_auto_contrast_applies_in_inference_through_xla_and_onnx(tmp_path):
    check_layer(lambda lib: lib.layers.AutoContrast(value_range=(0, 300)), [IMAGES], rtol=1e-5, atol=1e-3,
                tmp_dir=str(tmp_path))


@pytest.mark.parametrize("factory", [
    lambda lib: lib.layers.RandomGrayscale(0.3, seed=2),
    lambda lib: lib.layers.RandomInvert(0.4, value_range=(0, 1)),
    lambda lib: lib.layers.AutoContrast(value_range=(0, 1)),
    lambda lib: lib.layers.Solarization(0.3, (0.2, 0.6), seed=1),
    lambda lib: lib.layers.RandomColorDegeneration(0.5, value_range=(0, 1)),
    lambda lib: lib.layers.Pipeline([lib.layers.RandomFlip(seed=1, name="flip"),
                                     lib.layers.RandomRotation(0.1, seed=1, name="rotate")], name="augment"),
], ids=["grayscale", "invert", "auto_contrast", "solarization", "color_degeneration", "pipeline"])
def test_color_and_pipeline_configs(factory):
    def comparable(config):
        config = {k: v for k, v in config.items() if k not in ("dtype", "name")}
        if "layers" in config:
            config["layers"] = [{**layer, "config": {k: v for k, v in layer["config"].items() if k != "dtype"}}
                                for layer in config["layers"]]
        return config

    ours = factory(kgraph)
    assert comparable(ours.get_config()) == comparable(factory(keras).get_config())
    assert type(ours).from_config(ours.get_config()).get_config() == ours.get_config()


def test_invert_and_grayscale_draw_per_image():
    inverted = np.asarray(kgraph.layers.RandomInvert(0.5, seed=4)(np.repeat(IMAGES[:1], 32, 0)))
    flags = [np.allclose(image, 255 - IMAGES[0]) for image in inverted]
    assert all(f or np.allclose(image, IMAGES[0]) for f, image in zip(flags, inverted)) and 0 < sum(flags) < 32


def test_shear_is_keras_transform_with_a_random_sign_per_image():
    sheared = np.asarray(kgraph.layers.RandomShear((0.2, 0.2), (0.1, 0.1), seed=3)(np.repeat(IMAGES[:1], 8, 0)))
    candidates = [np.asarray(keras.ops.image.affine_transform(
        IMAGES[:1], np.array([[1.0, 0.2 * s, 0.0, 0.1 * s, 1.0, 0.0, 0.0, 0.0]], "float32"), fill_mode="reflect"))[0]
        for s in (1.0, -1.0)]
    signs = [min((0, 1), key=lambda i: np.abs(image - candidates[i]).max()) for image in sheared]
    for image, sign in zip(sheared, signs):
        np.testing.assert_allclose(image, candidates[sign], rtol=1e-5, atol=1e-3)
    assert len(set(signs)) == 2
