"""The applications' surface against Keras 3: the names, the preprocessing functions, the arguments that are
refused, and where ImageNet weights come from."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import kgraph
import kgraph.applications as applications
from kgraph.applications import weights as weights_module

from tests.applications.harness import keras_applications, scaled_weights, zero_initialized_keras


def _public(module) -> set[str]:
    return {name for name in dir(module) if not name.startswith("_")}


def test_every_keras_application_name_exists():
    keras_apps = keras_applications()
    assert _public(keras_apps) - _public(applications) == set()
    for submodule in (name for name in _public(keras_apps) if name.islower()):
        missing = _public(getattr(keras_apps, submodule)) - _public(getattr(applications, submodule))
        assert missing == set(), f"kgraph.applications.{submodule} lacks {sorted(missing)}"


@pytest.mark.parametrize("submodule", ["resnet", "resnet50", "resnet_v2", "vgg16", "vgg19", "mobilenet", "mobilenet_v2",
                                       "mobilenet_v3", "densenet", "xception", "inception_v3", "inception_resnet_v2",
                                       "nasnet", "efficientnet", "efficientnet_v2", "convnext"])
def test_preprocess_input_matches_keras(submodule):
    keras_fn = getattr(keras_applications(), submodule).preprocess_input
    kg_fn = getattr(applications, submodule).preprocess_input
    rng = np.random.default_rng(0)
    for shape in [(2, 5, 4, 3), (5, 4, 3)]:
        x = rng.uniform(0, 255, shape).astype("float32")
        np.testing.assert_allclose(kg_fn(x.copy()), keras_fn(x.copy()), rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(np.asarray(kg_fn(kgraph.ops.convert_to_tensor(x))),
                                   np.asarray(keras_fn(x.copy())), rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_imagenet_preprocess_input_modes_and_layouts_match_keras(mode):
    keras_utils = keras_applications().imagenet_utils
    rng = np.random.default_rng(1)
    for data_format, shape in (("channels_first", (2, 3, 4, 5)), ("channels_last", (2, 4, 5, 3))):
        x = rng.uniform(0, 255, shape).astype("float32")
        expected = keras_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
        np.testing.assert_allclose(applications.imagenet_utils.preprocess_input(x.copy(), data_format, mode),
                                   expected, rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(
            np.asarray(applications.imagenet_utils.preprocess_input(kgraph.ops.convert_to_tensor(x), data_format,
                                                                    mode)), expected, rtol=1e-6, atol=1e-4)


def test_preprocess_input_integer_array_becomes_float():
    x = np.full((1, 2, 2, 3), 255, dtype="uint8")
    np.testing.assert_allclose(applications.mobilenet.preprocess_input(x), np.ones((1, 2, 2, 3)))


def test_preprocess_input_refuses_unknown_mode_and_layout():
    with pytest.raises(ValueError, match="mode"):
        applications.imagenet_utils.preprocess_input(np.zeros((1, 2, 2, 3)), mode="pytorch")
    with pytest.raises(ValueError, match="data_format"):
        applications.imagenet_utils.preprocess_input(np.zeros((1, 2, 2, 3)), data_format="NHWC")


def test_decode_predictions_refuses_a_batch_that_is_not_imagenet_scores():
    with pytest.raises(ValueError, match=r"\(samples, 1000\).*\(2, 10\)"):
        applications.resnet.decode_predictions(np.zeros((2, 10)))


def test_bad_arguments_are_refused_with_the_argument_named():
    with pytest.raises(ValueError, match="`weights` argument"):
        applications.VGG16(weights="no/such/file.h5")
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        applications.ResNet50(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        applications.MobileNetV2(weights=None, input_shape=(16, 16, 3), include_top=False)
    with pytest.raises(ValueError, match="static `input_shape`"):
        applications.DenseNet121(weights=None, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="classifier_activation"):
        applications.MobileNet(weights="imagenet", alpha=0.25, input_shape=(128, 128, 3),
                               classifier_activation="relu")
    with pytest.raises(TypeError, match="input_tensor"):
        applications.MobileNet(weights=None, input_tensor=np.zeros((1, 32, 32, 3)))


def test_headless_model_on_a_given_input_tensor_with_pooling():
    inputs = kgraph.Input((64, 48, 3), name="pixels")
    x = kgraph.layers.Rescaling(1 / 255)(inputs)
    model = applications.MobileNetV2(weights=None, alpha=0.35, input_tensor=x, include_top=False, pooling="max")
    assert model.inputs[0] is inputs
    assert model.output.shape == (None, 1280)
    assert applications.MobileNet(weights=None, alpha=0.25, include_top=False).output.shape == (None, None, None, 256)


def _home(tmp_path, monkeypatch):
    monkeypatch.setattr(kgraph.config, "_HOME", tmp_path)
    (tmp_path / "models").mkdir()
    return tmp_path / "models"


def test_imagenet_weights_load_from_the_cache_in_keras_legacy_format(tmp_path, monkeypatch):
    from keras.src.legacy.saving import legacy_h5_format

    models = _home(tmp_path, monkeypatch)
    args = dict(alpha=0.25, input_shape=(128, 128, 3), include_top=False)
    with zero_initialized_keras():
        keras_model = keras_applications().MobileNet(weights=None, **args)
    expected = scaled_weights(keras_model, np.random.default_rng(0))
    keras_model.set_weights(expected)
    with h5py.File(models / "mobilenet_2_5_128_tf_no_top.h5", "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, keras_model)
    model = applications.MobileNet(weights="imagenet", **args)
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_array_equal(got, want)


def test_imagenet_weights_that_cannot_be_downloaded_say_where_to_put_the_file(tmp_path, monkeypatch):
    models = _home(tmp_path, monkeypatch)

    def offline(*args, **kwargs):
        raise ConnectionError("network unreachable")

    monkeypatch.setattr(weights_module.utils, "get_file", offline, raising=False)
    target = models / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with pytest.raises(OSError, match="vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5") as error:
        applications.VGG16(include_top=False, input_shape=(32, 32, 3))
    assert str(target) in str(error.value) and "weights=" in str(error.value)
