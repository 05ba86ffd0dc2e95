"""Each application family against Keras 3: same layers and weight layout, weight files crossing both ways, equal
outputs on copied weights, one training step, and an ONNX export that ONNX Runtime runs to Keras' outputs."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import kgraph
from kgraph.export import export_onnx

from tests.applications.harness import (
    assert_close,
    build_pair,
    images,
    layer_names,
    scaled_weights,
    weight_layout,
)

slow = pytest.mark.slow
extended = pytest.mark.extended

# family: (model, input shape, extra arguments); one model per family, at its smallest input size. MobileNet runs
# by default, ResNet, EfficientNet and ConvNeXt with the slow tests; the rest are `extended` (`pytest -m extended`),
# 16-120 s each on two cores, too many for the default run.
FAMILIES = [
    pytest.param("MobileNet", (32, 32, 3), {"alpha": 0.25, "dropout": 0.0}, id="mobilenet"),
    pytest.param("MobileNetV2", (32, 32, 3), {"alpha": 0.35}, id="mobilenet_v2", marks=extended),
    pytest.param("MobileNetV3Small", (32, 32, 3), {}, id="mobilenet_v3", marks=extended),
    pytest.param("ResNet50", (32, 32, 3), {}, id="resnet", marks=slow),
    pytest.param("ResNet50V2", (32, 32, 3), {}, id="resnet_v2", marks=extended),
    pytest.param("VGG16", (32, 32, 3), {}, id="vgg", marks=extended),
    pytest.param("EfficientNetB0", (32, 32, 3), {}, id="efficientnet", marks=slow),
    pytest.param("EfficientNetV2B0", (32, 32, 3), {}, id="efficientnet_v2", marks=extended),
    pytest.param("ConvNeXtTiny", (32, 32, 3), {}, id="convnext", marks=slow),
    pytest.param("DenseNet121", (32, 32, 3), {}, id="densenet", marks=extended),
    pytest.param("Xception", (71, 71, 3), {}, id="xception", marks=extended),
    pytest.param("InceptionV3", (75, 75, 3), {}, id="inception_v3", marks=extended),
    pytest.param("InceptionResNetV2", (75, 75, 3), {}, id="inception_resnet_v2", marks=extended),
    pytest.param("NASNetMobile", (32, 32, 3), {}, id="nasnet", marks=extended),
]

# every other model: the same layers and weight layout as Keras, and Keras' weight file loads
VARIANTS = [
    pytest.param(name, shape, kwargs, id=name, marks=extended)
    for name, shape, kwargs in [
        ("ResNet101", (32, 32, 3), {}), ("ResNet152", (32, 32, 3), {}), ("ResNet101V2", (32, 32, 3), {}),
        ("ResNet152V2", (32, 32, 3), {}), ("VGG19", (32, 32, 3), {}), ("MobileNetV3Large", (32, 32, 3), {}),
        ("MobileNetV3Small", (32, 32, 3), {"minimalistic": True, "alpha": 0.75}),
        ("EfficientNetB1", (32, 32, 3), {}), ("EfficientNetB2", (32, 32, 3), {}),
        ("EfficientNetB3", (32, 32, 3), {}), ("EfficientNetB4", (32, 32, 3), {}),
        ("EfficientNetB5", (32, 32, 3), {}), ("EfficientNetB6", (32, 32, 3), {}),
        ("EfficientNetB7", (32, 32, 3), {}), ("EfficientNetV2B1", (32, 32, 3), {}),
        ("EfficientNetV2B2", (32, 32, 3), {}), ("EfficientNetV2B3", (32, 32, 3), {}),
        ("EfficientNetV2S", (32, 32, 3), {}), ("EfficientNetV2M", (32, 32, 3), {}),
        ("EfficientNetV2L", (32, 32, 3), {}), ("ConvNeXtSmall", (32, 32, 3), {}),
        ("ConvNeXtBase", (32, 32, 3), {}), ("ConvNeXtLarge", (32, 32, 3), {}),
        ("ConvNeXtXLarge", (32, 32, 3), {}), ("DenseNet169", (32, 32, 3), {}),
        ("DenseNet201", (32, 32, 3), {}), ("NASNetLarge", (32, 32, 3), {}),
    ]
]


def _same_structure(keras_model, kg_model) -> None:
    assert layer_names(kg_model) == layer_names(keras_model)
    assert weight_layout(kg_model) == weight_layout(keras_model)
    assert kg_model.count_params() == keras_model.count_params()


def _weight_files_cross(keras_model, kg_model, weights, tmp_path) -> None:
    keras_model.set_weights(weights)
    keras_model.save_weights(tmp_path / "keras.weights.h5")
    kg_model.load_weights(tmp_path / "keras.weights.h5")
    for expected, got, variable in zip(weights, kg_model.get_weights(), kg_model.weights):
        np.testing.assert_array_equal(got, expected, err_msg=variable.path)
    kg_model.save_weights(tmp_path / "kgraph.weights.h5")
    keras_model.set_weights([np.zeros_like(w) for w in weights])
    keras_model.load_weights(tmp_path / "kgraph.weights.h5")
    for expected, got in zip(weights, keras_model.get_weights()):
        np.testing.assert_array_equal(got, expected)


def _training_step_matches_keras(keras_model, kg_model, x, y) -> None:
    """One `fit` step in kgraph against Keras' `train_on_batch`, both with plain SGD and dropout off (its masks are
    random): the same loss, and every weight (batch-norm statistics included) updated alike."""
    import keras

    for model, dropout in ((keras_model, keras.layers.Dropout), (kg_model, kgraph.layers.Dropout)):
        for layer in model.layers:
            if isinstance(layer, dropout):
                layer.rate = 0.0
    keras_model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    kg_model.compile(optimizer=kgraph.optimizers.SGD(learning_rate=0.1),
                     loss=kgraph.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = kg_model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    assert_close(history.history["loss"][0], keras_model.train_on_batch(x, y), what="training loss")
    for variable, got, expected in zip(kg_model.weights, kg_model.get_weights(), keras_model.get_weights()):
        assert_close(got, expected, what=f"{variable.path} after one training step")


@pytest.mark.parametrize("name, input_shape, kwargs", FAMILIES)
def test_family_matches_keras_trains_and_exports(name, input_shape, kwargs, tmp_path):
    keras_model, kg_model = build_pair(name, input_shape, **kwargs)
    _same_structure(keras_model, kg_model)
    rng = np.random.default_rng(0)
    weights = scaled_weights(keras_model, rng)
    _weight_files_cross(keras_model, kg_model, weights, tmp_path)
    x = images(rng, 2, input_shape)
    expected = np.asarray(keras_model.predict(x, verbose=0))
    assert_close(kg_model.predict(x, verbose=0), expected, what=f"{name}: kgraph vs Keras")

    export_onnx(kg_model, tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert_close(got, expected, what=f"{name}: ONNX Runtime vs Keras")

    _training_step_matches_keras(keras_model, kg_model, images(rng, 4, input_shape), np.array([0, 1, 2, 0]))


@pytest.mark.parametrize("name, input_shape, kwargs", VARIANTS)
def test_variant_has_keras_layout_and_loads_its_weights(name, input_shape, kwargs, tmp_path):
    keras_model, kg_model = build_pair(name, input_shape, **kwargs)
    _same_structure(keras_model, kg_model)
    _weight_files_cross(keras_model, kg_model, scaled_weights(keras_model, np.random.default_rng(0)), tmp_path)
