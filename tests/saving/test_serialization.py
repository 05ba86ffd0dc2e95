"""serialize_keras_object / deserialize_keras_object: Keras' dict format, round trips, custom objects, safety."""

import json

import numpy as np
import pytest

import kgraph
from kgraph import saving
from kgraph.saving.serialization import deserialize_keras_object, serialize_keras_object


def roundtrip(obj, **kwargs):
    """Serialize, pass through JSON as a file would, deserialize."""
    return deserialize_keras_object(json.loads(json.dumps(serialize_keras_object(obj))), **kwargs)


@pytest.mark.parametrize("obj", [
    kgraph.losses.MeanSquaredError(), kgraph.losses.SparseCategoricalCrossentropy(from_logits=True),
    kgraph.losses.Huber(delta=2.0), kgraph.losses.BinaryCrossentropy(label_smoothing=0.1),
], ids=lambda o: type(o).__name__)
def test_losses_round_trip(obj):
    config = serialize_keras_object(obj)
    assert config["module"] == "keras.losses" and config["class_name"] == type(obj).__name__
    back = roundtrip(obj)
    assert type(back) is type(obj) and back.get_config() == obj.get_config()


@pytest.mark.parametrize("obj", [
    kgraph.metrics.AUC(num_thresholds=50), kgraph.metrics.Precision(), kgraph.metrics.MeanSquaredError(),
    kgraph.metrics.SparseCategoricalAccuracy(), kgraph.metrics.TopKCategoricalAccuracy(k=3),
], ids=lambda o: type(o).__name__)
def test_metrics_round_trip(obj):
    config = serialize_keras_object(obj)
    assert config["module"] == "keras.metrics"
    back = roundtrip(obj)
    assert type(back) is type(obj) and back.get_config() == obj.get_config()


def test_module_functions_and_saving_read_each_other():
    """Each module's own serialize/deserialize and kgraph.saving's agree on the format."""
    pairs = [(kgraph.losses, kgraph.losses.Huber(delta=3.0)), (kgraph.metrics, kgraph.metrics.AUC(num_thresholds=20)),
             (kgraph.optimizers, kgraph.optimizers.SGD(0.3)), (kgraph.regularizers, kgraph.regularizers.L2(0.5))]
    for module, obj in pairs:
        if hasattr(module, "deserialize"):
            assert module.deserialize(serialize_keras_object(obj)).get_config() == obj.get_config()
        assert deserialize_keras_object(module.serialize(obj)).get_config() == obj.get_config()


def test_custom_activation_functions_in_layer_configs():
    @saving.register_keras_serializable(package="kgraph_tests")
    def doubled(x):
        return x * 2.0

    def tripled(x):
        return x * 3.0

    for fn, kwargs in ((doubled, {}), (tripled, {"custom_objects": {"tripled": tripled}})):
        layer = kgraph.layers.Dense(2, activation=fn)
        assert roundtrip(layer, **kwargs).activation is fn
    with pytest.raises(ValueError, match="tripled"):
        roundtrip(kgraph.layers.Dense(2, activation=tripled))


def test_same_class_name_resolves_by_module():
    loss = roundtrip(kgraph.losses.MeanSquaredError())
    metric = roundtrip(kgraph.metrics.MeanSquaredError())
    assert isinstance(loss, kgraph.losses.Loss) and isinstance(metric, kgraph.metrics.Metric)


@pytest.mark.parametrize("obj", [
    kgraph.optimizers.Adam(learning_rate=3e-4, beta_1=0.8, amsgrad=True), kgraph.optimizers.SGD(0.1, momentum=0.9),
    kgraph.optimizers.RMSprop(centered=True), kgraph.optimizers.AdamW(weight_decay=0.01, clipnorm=1.0),
], ids=lambda o: type(o).__name__)
def test_optimizers_round_trip(obj):
    back = roundtrip(obj)
    assert type(back) is type(obj) and back.get_config() == obj.get_config()


@pytest.mark.parametrize("obj", [
    kgraph.initializers.GlorotUniform(seed=3), kgraph.initializers.HeNormal(), kgraph.initializers.Constant(0.5),
    kgraph.initializers.RandomNormal(mean=1.0, stddev=0.2, seed=1), kgraph.initializers.VarianceScaling(2.0),
], ids=lambda o: type(o).__name__)
def test_initializers_round_trip(obj):
    back = roundtrip(obj)
    assert type(back) is type(obj) and back.get_config() == obj.get_config()
    np.testing.assert_array_equal(back((3, 4)), obj((3, 4))) if getattr(obj, "seed", None) is not None else None


@pytest.mark.parametrize("obj", [kgraph.regularizers.L1(0.1), kgraph.regularizers.L2(0.2),
                                 kgraph.regularizers.L1L2(0.1, 0.3)], ids=lambda o: type(o).__name__)
def test_regularizers_round_trip(obj):
    back = roundtrip(obj)
    assert type(back) is type(obj) and back.get_config() == obj.get_config()


def test_keras_initializer_configs_with_extra_inert_keys_load():
    config = {"module": "keras.initializers", "class_name": "GlorotUniform",
              "config": {"seed": 7, "input_axes": None, "output_axes": None}, "registered_name": None}
    layer = deserialize_keras_object({
        "module": "keras.layers", "class_name": "Dense", "registered_name": None,
        "config": {"name": "d", "units": 2, "kernel_initializer": config, "quantization_config": None,
                   "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                             "registered_name": None}}})
    assert isinstance(layer, kgraph.layers.Dense) and layer.units == 2 and layer.dtype == "float32"
    assert type(layer.kernel_initializer).__name__ == "GlorotUniform" and layer.kernel_initializer.seed == 7


def test_layer_round_trip_keeps_config_and_builds_from_build_config():
    inputs = kgraph.Input((5,))
    layer = kgraph.layers.Dense(3, activation="relu", kernel_regularizer="l2", name="dense_rt")
    layer(inputs)
    config = serialize_keras_object(layer)
    assert config["build_config"] == {"input_shape": (None, 5)}
    back = deserialize_keras_object(json.loads(json.dumps(config)))
    assert back.get_config() == layer.get_config()
    assert back.built and [v.shape for v in back.weights] == [(5, 3), (3,)]


def test_plain_values_and_special_types():
    value = {"a": [1, 2.5, "s", None, True], "b": (1, 2), "arr": np.arange(3, dtype="int32"), "s": slice(1, None, 2),
             "bytes": b"xy", "e": Ellipsis, "scalar": np.float32(2.0)}
    back = roundtrip(value)
    assert back["a"] == [1, 2.5, "s", None, True] and back["b"] == [1, 2] and back["scalar"] == 2.0
    np.testing.assert_array_equal(back["arr"], np.arange(3)) and back["arr"].dtype == np.int32
    assert back["s"] == slice(1, None, 2) and back["bytes"] == b"xy" and back["e"] is Ellipsis


def test_builtin_functions_serialize_like_keras():
    config = serialize_keras_object(kgraph.losses.mean_squared_error)
    assert config == {"module": "builtins", "class_name": "function", "config": "mean_squared_error",
                      "registered_name": "function"}
    assert roundtrip(kgraph.losses.mean_squared_error) is kgraph.losses.mean_squared_error
    assert roundtrip(kgraph.activations.relu) is kgraph.activations.relu


class Scaled(kgraph.layers.Layer):
    """A custom layer used unregistered (found through custom_objects or a scope)."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_unknown_class_error_names_it_and_how_to_register():
    config = json.loads(json.dumps(serialize_keras_object(Scaled(3.0))))
    with pytest.raises(ValueError, match=r"'Scaled'.*register_keras_serializable.*custom_objects.*CustomObjectScope"):
        deserialize_keras_object(config)


def test_custom_objects_argument_and_scope():
    config = json.loads(json.dumps(serialize_keras_object(Scaled(3.0, name="sc"))))
    assert deserialize_keras_object(config, custom_objects={"Scaled": Scaled}).factor == 3.0
    with saving.CustomObjectScope({"Scaled": Scaled}):
        assert deserialize_keras_object(config).name == "sc"
    with saving.custom_object_scope({"Scaled": Scaled}):
        assert isinstance(deserialize_keras_object(config), Scaled)
    with pytest.raises(ValueError):
        deserialize_keras_object(config)  # the scope ended


@saving.register_keras_serializable(package="kgraph_tests")
class RegisteredScale(kgraph.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@saving.register_serializable(package="kgraph_tests", name="cube")
def cube(x):
    return x * x * x


def test_registered_custom_layer_and_function_round_trip():
    layer = RegisteredScale(4.0)
    config = serialize_keras_object(layer)
    assert config["registered_name"] == "kgraph_tests>RegisteredScale"
    back = roundtrip(layer)
    assert type(back) is RegisteredScale and back.factor == 4.0
    assert saving.get_registered_name(cube) == "kgraph_tests>cube"
    assert saving.get_registered_object("kgraph_tests>cube") is cube
    assert serialize_keras_object(cube)["config"] == "kgraph_tests>cube"
    assert roundtrip(cube) is cube


def test_registering_a_class_without_get_config_fails():
    with pytest.raises(ValueError, match="get_config"):
        saving.register_keras_serializable("kgraph_tests")(type("NoConfig", (), {}))


def test_lambda_is_refused_in_safe_mode_and_loads_when_unsafe():
    with pytest.warns(UserWarning, match="lambda"):
        config = json.loads(json.dumps(serialize_keras_object(lambda x: x + 1)))
    with pytest.raises(ValueError, match="safe_mode=False"):
        deserialize_keras_object(config)
    fn = deserialize_keras_object(config, safe_mode=False)
    assert fn(2) == 3


def test_safe_mode_scope_wins_over_argument():
    with pytest.warns(UserWarning):
        config = serialize_keras_object(lambda x: x)
    with saving.SafeModeScope(True), pytest.raises(ValueError, match="safe mode"):
        deserialize_keras_object(config, safe_mode=False)


def test_loading_never_imports_modules_outside_kgraph():
    config = {"module": "os", "class_name": "system", "config": {}, "registered_name": None}
    with pytest.raises(ValueError, match="Unknown object 'system'"):
        deserialize_keras_object(config)
    with pytest.raises(ValueError, match="Unknown function"):
        deserialize_keras_object({"module": "os", "class_name": "function", "config": "system",
                                  "registered_name": "function"})
