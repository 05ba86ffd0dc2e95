"""kgraph.metrics' names, configs and get/serialize/deserialize, checked against Keras 3's where they agree."""

import re

import keras
import numpy as np
import pytest

import kgraph
from kgraph import metrics

CONFIGURED = [
    metrics.Mean(name="m", dtype="float32"),
    metrics.Sum(),
    metrics.Accuracy(name="acc_exact"),
    metrics.BinaryAccuracy(threshold=0.7),
    metrics.CategoricalAccuracy(),
    metrics.SparseCategoricalAccuracy(name="sca"),
    metrics.TopKCategoricalAccuracy(k=2),
    metrics.MeanSquaredError(),
    metrics.MeanAbsoluteError(),
    metrics.MeanAbsolutePercentageError(),
    metrics.RootMeanSquaredError(),
    metrics.AUC(num_thresholds=33, curve="PR", summation_method="minoring", from_logits=True),
    metrics.AUC(thresholds=[0.2, 0.6], multi_label=True, num_labels=3, label_weights=[1.0, 2.0, 3.0]),
    metrics.Precision(thresholds=[0.3, 0.6], class_id=1),
    metrics.Recall(top_k=2),
    metrics.MeanMetricWrapper(kgraph.losses.huber, name="hub", delta=0.4),
]


@pytest.mark.parametrize("metric", CONFIGURED, ids=[m.name for m in CONFIGURED])
def test_config_round_trips_and_matches_keras(metric):
    config = metrics.serialize(metric)
    assert config["class_name"] == type(metric).__name__
    restored = metrics.deserialize(config)
    assert type(restored) is type(metric) and restored.get_config() == metric.get_config()
    assert [v.path for v in restored.variables] == [v.path for v in metric.variables]
    # Keras builds the same metric from our config, with the same config back.
    theirs = keras.metrics.deserialize(config)
    assert type(theirs).__name__ == type(metric).__name__
    keras_config = theirs.get_config()
    ours = metric.get_config()
    if "fn" in keras_config:
        assert keras_config["fn"]["config"] == ours["fn"]["config"]
        keras_config.pop("fn"), ours.pop("fn")
    if keras_config.get("label_weights") is not None:
        np.testing.assert_allclose(np.asarray(keras_config.pop("label_weights")), ours.pop("label_weights"))
    assert ours == keras_config


def test_reads_keras_serialized_metrics():
    for theirs in (keras.metrics.AUC(curve="PR", num_thresholds=10), keras.metrics.Precision(thresholds=0.4),
                   keras.metrics.BinaryAccuracy(threshold=0.2), keras.metrics.Mean(name="loss"),
                   keras.metrics.MeanMetricWrapper(keras.losses.mean_squared_error, name="w")):
        ours = metrics.deserialize(keras.metrics.serialize(theirs))
        assert type(ours).__name__ == type(theirs).__name__ and ours.name == theirs.name
    keras_wrapper = keras.metrics.MeanMetricWrapper(keras.losses.mean_squared_error)
    wrapped = metrics.deserialize(keras.metrics.serialize(keras_wrapper))
    assert wrapped._fn is kgraph.losses.mean_squared_error


@pytest.mark.parametrize("identifier,cls", [
    ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy),
    ("SparseCategoricalAccuracy", metrics.SparseCategoricalAccuracy),
    ("binary_accuracy", metrics.BinaryAccuracy), ("categorical_accuracy", metrics.CategoricalAccuracy),
    ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy),
    ("mse", metrics.MeanSquaredError), ("MSE", metrics.MeanSquaredError),
    ("mean_squared_error", metrics.MeanSquaredError),
    ("mae", metrics.MeanAbsoluteError), ("mape", metrics.MeanAbsolutePercentageError),
    ("root_mean_squared_error", metrics.RootMeanSquaredError),
    ("auc", metrics.AUC), ("AUC", metrics.AUC), ("precision", metrics.Precision), ("recall", metrics.Recall),
    ("Precision", metrics.Precision), ("mean", metrics.Mean), ("sum", metrics.Sum),
])
def test_get_names_like_keras(identifier, cls):
    ours, theirs = metrics.get(identifier), keras.metrics.get(identifier)
    assert type(ours) is cls and type(theirs).__name__ == cls.__name__
    assert ours.name == re.sub(r"_\d+$", "", theirs.name)  # Keras also makes default names unique


def test_accuracy_is_left_for_the_trainer():
    assert metrics.get("accuracy") == "accuracy"
    assert metrics.get("acc") == "acc"
    assert type(metrics.get("Accuracy")) is metrics.Accuracy


def test_get_wraps_functions_and_passes_instances():
    metric = metrics.Precision()
    assert metrics.get(metric) is metric and metrics.get(None) is None
    assert type(metrics.get(metrics.AUC)) is metrics.AUC

    def my_error(y_true, y_pred):
        return kgraph.ops.abs(y_true - y_pred)

    wrapped = metrics.get(my_error)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "my_error"
    y_true, y_pred = np.array([1.0, 2.0, 4.0], "float32"), np.array([1.5, 2.0, 3.0], "float32")
    wrapped.update_state(y_true, y_pred)
    np.testing.assert_allclose(np.asarray(wrapped.result()), 0.5)
    assert metrics.get(kgraph.losses.mean_absolute_error).name == "mean_absolute_error"
    config = {"class_name": "BinaryAccuracy", "config": {"threshold": 0.9, "name": "b"}}
    assert metrics.get(config).threshold == 0.9


def test_unknown_identifiers_raise_naming_them():
    with pytest.raises(ValueError) as info:
        metrics.get("foo")
    message = str(info.value)
    assert message.startswith("Could not interpret metric identifier: 'foo'.")
    assert "sparse_categorical_accuracy" in message and "auc" in message
    with pytest.raises(ValueError, match="Could not interpret metric identifier: 3.5"):
        metrics.get(3.5)
    with pytest.raises(ValueError, match="Could not interpret metric identifier: 'Nope'"):
        metrics.deserialize({"class_name": "Nope", "config": {}})


def test_constructor_validation_matches_keras():
    for kwargs, pattern in (({"curve": "XY"}, "Invalid AUC curve"), ({"summation_method": "mid"}, "summation method"),
                            ({"num_thresholds": 1}, "num_thresholds"), ({"num_labels": 3}, "multi_label")):
        with pytest.raises(ValueError, match=pattern):
            metrics.AUC(**kwargs)
        with pytest.raises(ValueError, match=pattern):
            keras.metrics.AUC(**kwargs)
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="class_id"):
        metrics.Recall(class_id=0).update_state(np.ones(4, "float32"), np.ones(4, "float32"))


def test_variables_are_non_trainable_and_named_by_path():
    metric = metrics.AUC(name="my/auc", num_thresholds=7)
    assert [v.path for v in metric.variables] == ["my>auc/true_positives", "my>auc/false_positives",
                                                  "my>auc/true_negatives", "my>auc/false_negatives"]
    assert all(isinstance(v, kgraph.Variable) and not v.trainable and v.shape == (7,) for v in metric.variables)
    assert metrics.Mean(dtype="float16").total.dtype == "float16"
    assert metrics.Mean().dtype == kgraph.config.floatx()
