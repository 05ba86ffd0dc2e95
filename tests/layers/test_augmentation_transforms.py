"""The augmentation layers split as Keras splits them (get_random_transformation, then transform_images and
transform_labels): given Keras' own random transformation, kgraph's transform equals Keras'; with a fixed draw
whole training calls equal Keras'; draws repeat with a seed; inference is the identity (XLA and ONNX Runtime);
configs equal Keras'; and the layers train inside a convnet."""

import keras
import numpy as np
import pytest

import kgraph
from tests.layers.config_parity import assert_config_matches_keras
from tests.layers.parity import check_layer

rng = np.random.default_rng(0)
IMAGES = (rng.random((4, 8, 9, 3)) * 255).astype("float32")
UNIT = IMAGES / 255.0
FIRST = IMAGES.transpose(0, 3, 1, 2)
LABELS = np.eye(4, dtype="float32")

TRANSFORMS = [
    ("hue", lambda lib: lib.layers.RandomHue((0.2, 0.8), seed=1), IMAGES),
    ("hue_unit_range", lambda lib: lib.layers.RandomHue(0.5, value_range=(0, 1), seed=2), UNIT),
    ("hue_channels_first", lambda lib: lib.layers.RandomHue(0.5, data_format="channels_first", seed=3), FIRST),
    ("saturation", lambda lib: lib.layers.RandomSaturation((0.1, 0.9), value_range=(0, 1), seed=1), UNIT),
    ("saturation_channels_first", lambda lib: lib.layers.RandomSaturation(
        0.7, value_range=(0, 1), data_format="channels_first", seed=1), UNIT.transpose(0, 3, 1, 2)),
    ("sharpness", lambda lib: lib.layers.RandomSharpness((0.1, 0.9), seed=1), IMAGES),
    ("sharpness_channels_first", lambda lib: lib.layers.RandomSharpness(
        0.8, data_format="channels_first", seed=1), FIRST),
    ("posterization", lambda lib: lib.layers.RandomPosterization((2, 7), seed=1), IMAGES),
    ("posterization_unit_range", lambda lib: lib.layers.RandomPosterization(4, value_range=(0, 1), seed=4), UNIT),
    ("gaussian_blur", lambda lib: lib.layers.RandomGaussianBlur(0.8, (3, 5), (0.2, 0.9), seed=1), IMAGES),
    ("gaussian_blur_channels_first", lambda lib: lib.layers.RandomGaussianBlur(
        1.0, 5, 0.6, data_format="channels_first", seed=2), FIRST),
    pytest.param("erasing_noise", lambda lib: lib.layers.RandomErasing(0.9, (0.1, 0.5), seed=1), IMAGES,
                 marks=pytest.mark.slow),
    ("erasing_constant", lambda lib: lib.layers.RandomErasing(1.0, 0.4, fill_value=7.0, seed=3), IMAGES),
    ("erasing_channels_first", lambda lib: lib.layers.RandomErasing(
        0.8, (0.2, 0.3), fill_value=300.0, data_format="channels_first", seed=1), FIRST),
    pytest.param("perspective", lambda lib: lib.layers.RandomPerspective(0.9, seed=1), UNIT, marks=pytest.mark.slow),
    ("perspective_nearest_channels_first", lambda lib: lib.layers.RandomPerspective(
        1.0, 0.5, "nearest", fill_value=0.3, data_format="channels_first", seed=2), UNIT.transpose(0, 3, 1, 2)),
    ("mix_up", lambda lib: lib.layers.MixUp(alpha=0.4, seed=1), IMAGES),
    ("cut_mix", lambda lib: lib.layers.CutMix(seed=1), IMAGES),
    ("cut_mix_channels_first", lambda lib: lib.layers.CutMix((0.2, 0.8), data_format="channels_first", seed=2),
     FIRST),
]
PERMUTATION = np.array([2, 0, 3, 1], "int32")
BOXES = tuple(np.array(v, "float32") for v in ([0.5, 2.0, 0.0, 4.2], [3.5, 9.0, 1.0, 6.0], [1.0, 1.5, 2.0, 0.0],
                                                [6.0, 7.9, 5.0, 3.0]))


def _keras_transformation(name, layer, x):
    """Keras' draw, or for the mixing layers (whose Beta draws take long to compile) a transformation built with
    Keras' own box-mask helper."""
    if name.startswith("mix_up"):
        return {"mix_weight": np.array([0.2, 0.5, 0.9, 1.0], "float32"), "permutation_order": PERMUTATION}
    if name.startswith("cut_mix"):
        masks, weight = layer._generate_batch_mask(x.shape, BOXES)
        return {"permutation_order": PERMUTATION, "batch_masks": np.asarray(masks), "mix_weight": np.asarray(weight)}
    return {k: np.asarray(v) for k, v in layer.get_random_transformation(x).items()}


def _ids(cases):
    return [c.values[0] if hasattr(c, "values") else c[0] for c in cases]


@pytest.mark.parametrize("name,factory,x", TRANSFORMS, ids=_ids(TRANSFORMS))
def test_transform_of_keras_draw_equals_keras(name, factory, x):
    theirs, ours = factory(keras), factory(kgraph)
    transformation = _keras_transformation(name, theirs, x)
    expected = np.asarray(theirs.transform_images(x, transformation))
    np.testing.assert_allclose(np.asarray(ours.transform_images(x, transformation)), expected, rtol=1e-5, atol=1e-5)
    if name.startswith(("mix_up", "cut_mix")):
        np.testing.assert_allclose(np.asarray(ours.transform_labels(LABELS, transformation)),
                                   np.asarray(theirs.transform_labels(LABELS, transformation)), rtol=1e-5, atol=1e-6)


FIXED = [
    ("saturation", lambda lib: lib.layers.RandomSaturation((0.3, 0.3), value_range=(0, 1)), UNIT),
    ("sharpness", lambda lib: lib.layers.RandomSharpness((0.9, 0.9)), IMAGES),
    ("posterization", lambda lib: lib.layers.RandomPosterization((3, 3)), IMAGES),
    ("gaussian_blur", lambda lib: lib.layers.RandomGaussianBlur((1.0, 1.0), 3, (0.7, 0.7)), IMAGES),
    ("color_jitter", lambda lib: lib.layers.RandomColorJitter(
        brightness_factor=(0.1, 0.1), contrast_factor=(-0.2, 0.2), saturation_factor=(0.3, 0.3)), IMAGES),
    ("erasing_whole_image", lambda lib: lib.layers.RandomErasing((1.0, 1.0), (1.0, 1.0), fill_value=5.0), IMAGES),
    ("single_image", lambda lib: lib.layers.RandomSharpness((0.2, 0.2)), IMAGES[0]),
    pytest.param("equalization", lambda lib: lib.layers.Equalization(), (UNIT ** 2 * 200).astype("float32"),
                 marks=pytest.mark.slow),
    ("equalization_bins_unit_range", lambda lib: lib.layers.Equalization((0, 1), bins=16), UNIT ** 2),
    ("equalization_channels_first", lambda lib: lib.layers.Equalization(data_format="channels_first"), FIRST),
    ("equalization_flat_channels", lambda lib: lib.layers.Equalization(bins=8), np.full((2, 4, 4, 3), 7.0, "float32")),
]


@pytest.mark.parametrize("name,factory,x", FIXED, ids=_ids(FIXED))
def test_fixed_draws_equal_keras_in_training(name, factory, x):
    expected = np.asarray(factory(keras)(x, training=True))
    np.testing.assert_allclose(np.asarray(factory(kgraph)(x, training=True)), expected, rtol=1e-5, atol=1e-4)


def test_color_jitter_with_hue_is_keras_steps_with_either_hue_direction():
    kwargs = dict(brightness_factor=(0.1, 0.1), saturation_factor=(0.6, 0.6), hue_factor=(0.3, 0.3))
    jittered = np.asarray(kgraph.layers.RandomColorJitter(seed=4, **kwargs)(IMAGES))
    keras_steps = keras.layers.RandomColorJitter(**kwargs)
    x = np.asarray(keras_steps.random_brightness(IMAGES))
    x = np.asarray(keras_steps.random_saturation(x))
    candidates = [np.asarray(keras_steps.random_hue.transform_images(x, {"factor": np.full((4,), s * 0.15)}))
                  for s in (1.0, -1.0)]
    for i, image in enumerate(jittered):
        assert min(np.abs(image - c[i]).max() for c in candidates) < 1e-3


@pytest.mark.slow
def test_rand_augment_applies_one_of_keras_augmentations_per_batch():
    keras_layer = keras.layers.RandAugment(factor=0.0, num_ops=1)
    candidates = [np.asarray(getattr(keras_layer, name)(IMAGES)) for name in keras_layer._AUGMENT_LAYERS]
    chosen = set()
    for seed in range(4):
        out = np.asarray(kgraph.layers.RandAugment(factor=0.0, num_ops=1, seed=seed)(IMAGES))
        distances = [np.abs(out - candidate).max() for candidate in candidates]
        assert min(distances) < 1e-3
        chosen.add(int(np.argmin(distances)))
    assert len(chosen) >= 2


@pytest.mark.slow
def test_aug_mix_blends_the_input_with_a_keras_augmentation():
    keras_layer = keras.layers.AugMix(factor=0.0, num_chains=1, chain_depth=1, all_ops=False)
    names = ("random_shear", "random_rotation", "random_posterization", "solarization", "auto_contrast",
             "equalization")
    candidates = [np.asarray(getattr(keras_layer, name)(IMAGES)) for name in names]
    for seed in range(2):
        out = np.asarray(kgraph.layers.AugMix(factor=0.0, num_chains=1, chain_depth=1, all_ops=False,
                                              seed=seed)(IMAGES))
        fits = []
        for candidate in candidates:
            direction, offset = (IMAGES - candidate).ravel(), (out - candidate).ravel()
            weight = float(direction @ offset / (direction @ direction)) if direction @ direction > 0 else 0.0
            fits.append((np.abs(offset - weight * direction).max(), weight))
        residual, weight = min(fits)
        assert residual < 1e-3 and -1e-6 <= weight <= 1 + 1e-6


@pytest.mark.slow
def test_mix_up_mixes_images_and_labels_with_one_draw():
    out = kgraph.layers.MixUp(alpha=0.5, seed=3)({"images": IMAGES, "labels": LABELS})
    labels = np.asarray(out["labels"])
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-6)
    partner = np.array([max((j for j in range(4) if j != i), key=lambda j: labels[i, j])
                        if labels[i, i] < 1 - 1e-6 else i for i in range(4)])
    weight = np.array([labels[i, i] for i in range(4)], "float32")
    assert len(set(partner)) == 4
    expected = keras.layers.MixUp().transform_images(IMAGES, {"mix_weight": weight, "permutation_order": partner})
    np.testing.assert_allclose(np.asarray(out["images"]), np.asarray(expected), rtol=1e-5, atol=1e-3)


def test_cut_mix_pastes_partner_boxes_and_mixes_labels_by_area():
    out = kgraph.layers.CutMix(seed=5)({"images": IMAGES, "labels": LABELS})
    images, labels = np.asarray(out["images"]), np.asarray(out["labels"])
    for i in range(4):
        kept = np.all(images[i] == IMAGES[i], axis=-1)
        partners = [j for j in range(4) if labels[i, j] > 0 and j != i]
        if not partners:
            assert kept.all()
            continue
        (j,) = partners
        np.testing.assert_array_equal(images[i][~kept], IMAGES[j][~kept])
        if (~kept).any():
            rows, cols = np.nonzero(~kept)
            assert (~kept).sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
        assert abs((~kept).mean() - labels[i, j]) <= 2 * (8 + 9) / 72


ALL = {
    "hue": lambda lib, seed=None: lib.layers.RandomHue(0.4, seed=seed),
    "saturation": lambda lib, seed=None: lib.layers.RandomSaturation(0.8, seed=seed),
    "color_jitter": lambda lib, seed=None: lib.layers.RandomColorJitter(
        brightness_factor=0.2, contrast_factor=0.3, saturation_factor=0.6, hue_factor=0.2, seed=seed),
    "sharpness": lambda lib, seed=None: lib.layers.RandomSharpness((0.1, 0.9), seed=seed),
    "posterization": lambda lib, seed=None: lib.layers.RandomPosterization((2, 6), seed=seed),
    "gaussian_blur": lambda lib, seed=None: lib.layers.RandomGaussianBlur((1.0, 1.0), 5, (0.5, 1.0), seed=seed),
    "erasing": lambda lib, seed=None: lib.layers.RandomErasing((0.9, 1.0), (0.2, 0.4), fill_value=9, seed=seed),
    "aug_mix": lambda lib, seed=None: lib.layers.AugMix(num_chains=2, chain_depth=2, factor=0.4, seed=seed),
    "rand_augment": lambda lib, seed=None: lib.layers.RandAugment(num_ops=2, factor=0.4, seed=seed),
    "perspective": lambda lib, seed=None: lib.layers.RandomPerspective((1.0, 1.0), 0.6, seed=seed),
    "mix_up": lambda lib, seed=None: lib.layers.MixUp(0.3, seed=seed),
    "cut_mix": lambda lib, seed=None: lib.layers.CutMix(0.7, seed=seed),
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in ("aug_mix", "rand_augment") else n
                                  for n in sorted(ALL)])
def test_configs_equal_keras(name):
    assert_config_matches_keras(lambda lib: ALL[name](lib, seed=7))


def test_equalization_config_equals_keras_and_inference_is_identity():
    assert_config_matches_keras(lambda lib: lib.layers.Equalization(value_range=(0, 1), bins=32))
    np.testing.assert_array_equal(np.asarray(kgraph.layers.Equalization()(IMAGES, training=False)), IMAGES)


SLOW_TO_COMPILE = ("aug_mix", "color_jitter", "cut_mix", "mix_up", "rand_augment")


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_TO_COMPILE else n
                                  for n in sorted(ALL)])
def test_seeded_training_draws_repeat_and_inference_is_identity(name):
    first = np.asarray(ALL[name](kgraph, seed=11)(IMAGES, training=True))
    np.testing.assert_array_equal(np.asarray(ALL[name](kgraph, seed=11)(IMAGES, training=True)), first)
    assert not np.allclose(first, IMAGES)
    np.testing.assert_array_equal(np.asarray(ALL[name](kgraph, seed=11)(IMAGES, training=False)), IMAGES)


def test_identity_in_inference_through_xla_and_onnx(tmp_path):
    def stack(lib):
        return lib.Sequential([ALL[name](lib) for name in sorted(ALL)])

    check_layer(stack, [IMAGES], rtol=1e-5, atol=1e-4, tmp_dir=str(tmp_path))


@pytest.mark.slow
def test_augmentations_train_inside_a_convnet():
    light = {**ALL, "aug_mix": lambda lib: lib.layers.AugMix(num_chains=1, chain_depth=1, all_ops=False),
             "rand_augment": lambda lib: lib.layers.RandAugment(num_ops=1)}
    inputs = kgraph.Input(shape=(8, 9, 3))
    x = inputs
    for name in sorted(light):
        x = light[name](kgraph)(x)
    x = kgraph.layers.Conv2D(4, 3, activation="relu")(kgraph.layers.Rescaling(1 / 255.0)(x))
    model = kgraph.Model(inputs, kgraph.layers.Dense(4)(kgraph.layers.GlobalAveragePooling2D()(x)))
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(IMAGES, LABELS, batch_size=4, epochs=2, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    np.testing.assert_allclose(model.predict(IMAGES, verbose=0), model(IMAGES, training=False), rtol=1e-5)


def test_bad_arguments_fail_naming_them():
    with pytest.raises(ValueError, match=r"`factor` argument"):
        kgraph.layers.RandomHue(1.5)
    with pytest.raises(ValueError, match=r"value_range"):
        kgraph.layers.RandomSaturation(0.5, value_range=(0, 1, 2))
    with pytest.raises(ValueError, match=r"kernel_size must be an odd number"):
        kgraph.layers.RandomGaussianBlur(kernel_size=4)
    with pytest.raises(ValueError, match=r"`scale` argument"):
        kgraph.layers.RandomErasing(scale=(2.0, 3.0))
    with pytest.raises(ValueError, match=r"fill_value"):
        kgraph.layers.RandomErasing(fill_value="black")
    with pytest.raises(ValueError, match=r"alpha"):
        kgraph.layers.MixUp(alpha=0)
    with pytest.raises(ValueError, match=r"rank 3 or 4"):
        kgraph.layers.CutMix()(np.zeros((2, 3), "float32"))


@pytest.mark.parametrize("max_number", [2, 5])
def test_max_num_bounding_boxes_equals_keras(max_number):
    boxes = (rng.random((4, 3, 4)) * 8).astype("float32")
    labels = np.array([[1, 2, 0], [3, 1, 1], [0, 0, 2], [2, 2, 1]], "int32")

    def run(lib, batch):
        layer = lib.layers.MaxNumBoundingBoxes(max_number, bounding_box_format="xyxy")
        return layer({"images": IMAGES[batch], "bounding_boxes": {"boxes": boxes[batch], "labels": labels[batch]}})

    for batch in (slice(None), 0):
        ours, theirs = run(kgraph, batch), run(keras, batch)
        np.testing.assert_array_equal(np.asarray(ours["images"]), np.asarray(theirs["images"]))
        for key in ("boxes", "labels"):
            got, expected = np.asarray(ours["bounding_boxes"][key]), np.asarray(theirs["bounding_boxes"][key])
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
    assert_config_matches_keras(lambda lib: lib.layers.MaxNumBoundingBoxes(max_number, bounding_box_format="xyxy"))
    with pytest.raises(ValueError, match=r"bounding_box_format"):
        kgraph.layers.MaxNumBoundingBoxes(max_number)({"images": IMAGES, "bounding_boxes": {"boxes": boxes,
                                                                                            "labels": labels}})
