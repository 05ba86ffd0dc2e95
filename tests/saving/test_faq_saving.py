"""Every code block of the Keras FAQ's "What are my options for saving models?" (keras-faq.ko.md), run with
`import kgraph as keras` and checked against what the text says."""

import json

import numpy as np
import pytest

import kgraph as keras

rng = np.random.default_rng(0)
X = rng.random((32, 3), dtype=np.float32)
Y = rng.random((32, 3), dtype=np.float32)


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def trained_model():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dense(8, activation="relu")(inputs)))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    return model


def test_whole_model_save_and_load():
    """1) Saves architecture, weights, training config (loss, optimizer) and optimizer state; `load_model`
    returns a compiled model identical to the previous one."""
    from kgraph.saving import load_model

    model = trained_model()
    expected_predictions = model.predict(X, verbose=0)
    expected_weights, expected_iterations = model.get_weights(), model.optimizer.iterations
    expected_compile = model.get_compile_config()

    model.save('my_model.keras')
    del model  # 기존 모델을 삭제합니다

    # 이전 모델과 동일한 컴파일된 모델을 반환합니다.
    model = load_model('my_model.keras')

    assert model.compiled and model.get_compile_config() == expected_compile
    assert model.optimizer.iterations == expected_iterations
    for a, b in zip(model.get_weights(), expected_weights):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(X, verbose=0), expected_predictions)


def test_weights_only_save_and_load_into_the_same_architecture():
    """2) `save_weights` to `.weights.h5`; `load_weights` into a model with the *same* architecture."""
    model = trained_model()
    model.save_weights('my_model.weights.h5')
    saved = model.get_weights()

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dense(8, activation="relu")(inputs)))
    model.load_weights('my_model.weights.h5')
    for a, b in zip(model.get_weights(), saved):
        np.testing.assert_array_equal(a, b)


def test_load_weights_by_name():
    """`load_weights(..., by_name=True)` loads layers by *name*, for a different architecture."""
    inputs = keras.Input((3,))
    source = keras.Model(inputs, keras.layers.Dense(3, name="head")(keras.layers.Dense(8, name="body")(inputs)))
    source.save_weights('my_model.weights.h5')
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(5, name="other_head")(keras.layers.Dense(8, name="body")(inputs)))
    kept = model.get_layer("other_head").get_weights()

    model.load_weights('my_model.weights.h5', by_name=True)

    for a, b in zip(model.get_layer("body").get_weights(), source.get_layer("body").get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.get_layer("other_head").get_weights(), kept):
        np.testing.assert_array_equal(a, b)


def test_by_name_example():
    """The FAQ's example: only `dense_1` is loaded; `new_dense` is not."""
    from kgraph.layers import Dense
    from kgraph.models import Sequential

    fname = "original.weights.h5"
    # 원본 모델
    model = Sequential()
    model.add(Dense(2, input_dim=3, name='dense_1'))
    model.add(Dense(3, name='dense_2'))
    model.save_weights(fname)
    original_dense_1 = model.get_layer("dense_1").get_weights()

    # 새로운 모델
    model = Sequential()
    model.add(Dense(2, input_dim=3, name='dense_1'))  # 로드될 것입니다.
    model.add(Dense(10, name='new_dense'))  # 로드되지 않을 것입니다.
    untouched = model.get_layer("new_dense").get_weights()

    # 첫 번째 모델에서 가중치를 로드합니다.
    # 첫 번째 레이어인 dense_1에만 영향을 미칩니다.
    model.load_weights(fname, by_name=True)

    for a, b in zip(model.get_layer("dense_1").get_weights(), original_dense_1):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.get_layer("new_dense").get_weights(), untouched):
        np.testing.assert_array_equal(a, b)


def test_to_json_and_model_from_json():
    """3) The architecture alone as human-readable (and editable) JSON; a new model is built from it."""
    model = trained_model()

    # JSON으로 저장
    json_string = model.to_json()

    # JSON으로부터 모델 재구성:
    from kgraph.models import model_from_json
    model = model_from_json(json_string)

    config = json.loads(json_string)  # readable JSON, the same config
    assert json.loads(json.dumps(model.get_config())) == config["config"]
    assert [w.shape for w in model.weights] == [(3, 8), (8,), (8, 3), (3,)]
    config["config"]["layers"][1]["config"]["units"] = 16  # edit it by hand
    edited = model_from_json(json.dumps(config))
    assert [w.shape for w in edited.weights] == [(3, 16), (16,), (16, 3), (3,)]


class AttentionLayer(keras.layers.Layer):
    """A custom layer as in the FAQ: softmax attention weights over the features."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")

    def call(self, x):
        return keras.ops.softmax(keras.ops.matmul(x, self.w))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def custom_model():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, AttentionLayer(4)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_custom_objects_argument():
    """4) Pass custom classes through `custom_objects`."""
    from kgraph.models import load_model

    original = custom_model()
    original.save('my_model.h5')
    with pytest.raises(ValueError, match="AttentionLayer"):
        load_model('my_model.h5')
    # 모델에 "AttentionLayer" 클래스 인스턴스가 포함되어 있다고 가정합니다.
    model = load_model('my_model.h5', custom_objects={'AttentionLayer': AttentionLayer})
    assert isinstance(model.layers[1], AttentionLayer) and model.compiled
    np.testing.assert_array_equal(model.predict(X, verbose=0), original.predict(X, verbose=0))


def test_custom_object_scope():
    """Or use a custom object scope."""
    from kgraph.models import load_model
    from kgraph.utils import CustomObjectScope

    original = custom_model()
    original.save('my_model.h5')

    with CustomObjectScope({'AttentionLayer': AttentionLayer}):
        model = load_model('my_model.h5')

    np.testing.assert_array_equal(model.predict(X, verbose=0), original.predict(X, verbose=0))


def test_custom_objects_with_model_from_json():
    """Custom objects work the same way for `load_model` and `model_from_json`."""
    from kgraph.models import model_from_json

    json_string = custom_model().to_json()
    model = model_from_json(json_string, custom_objects={'AttentionLayer': AttentionLayer})
    assert isinstance(model.layers[1], AttentionLayer)
    keras.saving.save_model(custom_model(), "m.keras")
    assert isinstance(keras.saving.load_model("m.keras", custom_objects={"AttentionLayer": AttentionLayer}).layers[1],
                      AttentionLayer)
