"""Differential tests: kgraph metrics against Keras 3's (JAX backend) over several batches, eagerly and as
jitted stateless updates, with and without sample weights."""

import re
import zlib

import jax
import keras
import numpy as np
import pytest

import kgraph
from kgraph import metrics

RTOL, ATOL = 1e-5, 1e-6
B, C = 32, 6


def _probs(rng, shape):
    p = rng.random(shape).astype("float32") + 0.01
    return (p / p.sum(-1, keepdims=True)).astype("float32")


def _batch(kind, rng):
    """(y_true, y_pred) for one batch of a metric family."""
    if kind == "values":
        return (rng.normal(size=(B, 3)).astype("float32"),)
    if kind == "binary":
        return (rng.random((B, 1)) > 0.5).astype("float32"), rng.random((B, 1)).astype("float32")
    if kind == "binary_vector":
        return (rng.random((B,)) > 0.4).astype("float32"), rng.random((B,)).astype("float32")
    if kind == "binary_logits":
        return (rng.random((B, 1)) > 0.5).astype("float32"), (3 * rng.normal(size=(B, 1))).astype("float32")
    if kind == "multilabel":
        return (rng.random((B, C)) > 0.6).astype("float32"), rng.random((B, C)).astype("float32")
    if kind == "onehot":
        return np.eye(C, dtype="float32")[rng.integers(0, C, B)], _probs(rng, (B, C))
    if kind == "sparse":
        return rng.integers(0, C, (B,)).astype("float32"), _probs(rng, (B, C))
    if kind == "sparse_column":
        return rng.integers(0, C, (B, 1)).astype("float32"), _probs(rng, (B, C))
    if kind == "exact":
        return rng.integers(0, 3, (B,)).astype("float32"), rng.integers(0, 3, (B,)).astype("float32")
    if kind == "regression":
        return rng.normal(size=(B, 4)).astype("float32"), rng.normal(size=(B, 4)).astype("float32")
    if kind == "positive":
        return (3 * rng.random((B, 4))).astype("float32"), (3 * rng.random((B, 4)) + 0.05).astype("float32")
    raise AssertionError(kind)


# (class name, constructor kwargs, data kind)
SPECS = [
    ("Mean", {}, "values"),
    ("Sum", {}, "values"),
    ("Accuracy", {}, "exact"),
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.3}, "binary_vector"),
    ("CategoricalAccuracy", {}, "onehot"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("SparseCategoricalAccuracy", {}, "sparse_column"),
    ("TopKCategoricalAccuracy", {}, "onehot"),
    ("TopKCategoricalAccuracy", {"k": 2}, "onehot"),
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression"),
    ("AUC", {}, "binary"),
    ("AUC", {"num_thresholds": 50, "curve": "PR"}, "binary_vector"),
    ("AUC", {"curve": "PR", "summation_method": "majoring"}, "binary"),
    ("AUC", {"summation_method": "minoring"}, "multilabel"),
    ("AUC", {"from_logits": True}, "binary_logits"),
    ("AUC", {"thresholds": [0.1, 0.35, 0.5, 0.8]}, "binary"),
    ("AUC", {"multi_label": True, "num_labels": C}, "multilabel"),
    ("AUC", {"multi_label": True, "num_labels": C, "curve": "PR", "label_weights": [1, 2, 0, 1, 3, 1]}, "multilabel"),
    ("AUC", {"label_weights": [1, 2, 0, 1, 3, 1]}, "multilabel"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": [0.2, 0.5, 0.7]}, "binary_vector"),
    ("Precision", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "multilabel"),
    ("Precision", {"top_k": 2}, "onehot"),
    ("Precision", {"class_id": 3}, "multilabel"),
    ("Recall", {}, "binary"),
    ("Recall", {"thresholds": 0.3}, "multilabel"),
    ("Recall", {"top_k": 3, "class_id": 1}, "onehot"),
    ("TruePositives", {}, "binary"),
    ("FalsePositives", {"thresholds": [0.3, 0.6]}, "binary_vector"),
    ("TrueNegatives", {}, "multilabel"),
    ("FalseNegatives", {"thresholds": 0.7}, "binary"),
    ("PrecisionAtRecall", {"recall": 0.6}, "binary"),
    ("RecallAtPrecision", {"precision": 0.5, "num_thresholds": 50}, "binary_vector"),
    ("SensitivityAtSpecificity", {"specificity": 0.7}, "binary"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.4, "class_id": 2}, "multilabel"),
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "binary_logits"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "onehot"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("KLDivergence", {}, "onehot"),
    ("Poisson", {}, "positive"),
    ("CosineSimilarity", {}, "regression"),
    ("LogCoshError", {}, "regression"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("Hinge", {}, "binary"),
    ("SquaredHinge", {}, "binary"),
    ("CategoricalHinge", {}, "onehot"),
    ("PearsonCorrelation", {}, "regression"),
    ("ConcordanceCorrelation", {}, "regression"),
    ("SparseTopKCategoricalAccuracy", {}, "sparse"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse_column"),
    ("IoU", {"num_classes": 3, "target_class_ids": [0, 2]}, "exact"),
    ("MeanIoU", {"num_classes": 3}, "exact"),
    ("MeanIoU", {"num_classes": 3, "ignore_class": 1}, "exact"),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3}, "binary_vector"),
    ("OneHotIoU", {"num_classes": C, "target_class_ids": [0, 3]}, "onehot"),
    ("OneHotMeanIoU", {"num_classes": C}, "onehot"),
]
SPEC_IDS = [f"{name}-{kwargs}" for name, kwargs, _ in SPECS]


def _batches(name, kwargs, kind, weighted):
    rng = np.random.default_rng(zlib.crc32(f"{name}{kwargs}{weighted}".encode()))
    batches = []
    for _ in range(3):
        args = _batch(kind, rng)
        kw = {}
        if weighted:
            w = rng.random((B,)).astype("float32")
            w[:2] = 0.0
            kw["sample_weight"] = w
        batches.append((args, kw))
    return batches


def _close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name,kwargs,kind", SPECS, ids=SPEC_IDS)
def test_matches_keras_eager_and_jitted(name, kwargs, kind, weighted):
    batches = _batches(name, kwargs, kind, weighted)
    ours = getattr(metrics, name)(**kwargs)
    theirs = getattr(keras.metrics, name)(**kwargs)
    # Keras makes auto-generated names unique ("auc_2"); kgraph keeps the default name, as the brief asks.
    base = re.sub(r"_\d+$", "", theirs.name) if theirs.name.startswith(ours.name) else theirs.name
    assert ours.name == base
    assert [v.path for v in ours.variables] == [v.path.replace(theirs.name, base, 1) for v in theirs.variables]
    for args, kw in batches:
        ours.update_state(*args, **kw)
        theirs.update_state(*args, **kw)
        _close(ours.result(), theirs.result())

    # The functional form under jax.jit, from the reset state, gives the same numbers.
    fresh = getattr(metrics, name)(**kwargs)
    update = jax.jit(lambda state, args, kw: fresh.stateless_update_state(state, *args, **kw))
    state = fresh.stateless_reset_state()
    for args, kw in batches:
        state = update(state, args, kw)
    result = jax.jit(fresh.stateless_result) if weighted else fresh.stateless_result  # compile once per spec
    _close(result(state), theirs.result())
    _close(fresh.result(), getattr(keras.metrics, name)(**kwargs).result())  # the variables were not touched

    ours.reset_state()
    theirs.reset_state()
    _close(ours.result(), theirs.result())
    for variable, initial in zip(ours.variables, fresh.stateless_reset_state()):
        _close(variable.numpy(), initial)


@pytest.mark.parametrize("sw_shape", [(B,), (B, 1), (B, 3), ()], ids=str)
def test_mean_weight_shapes_match_keras(sw_shape):
    rng = np.random.default_rng(1)
    for cls in ("Mean", "Sum"):
        ours, theirs = getattr(metrics, cls)(), getattr(keras.metrics, cls)()
        for _ in range(3):
            values = rng.normal(size=(B, 3, 2)).astype("float32")
            sw = rng.random(sw_shape).astype("float32")
            _close(ours(values, sample_weight=sw), theirs(values, sample_weight=sw))
        _close(ours.count.numpy() if cls == "Mean" else ours.total.numpy(),
               np.asarray((theirs.count if cls == "Mean" else theirs.total).value))


@pytest.mark.parametrize("sw_shape", [(B, 1), (B, C)], ids=str)
def test_confusion_metrics_weight_shapes_match_keras(sw_shape):
    rng = np.random.default_rng(2)
    for name, kwargs in (("AUC", {}), ("Precision", {"thresholds": [0.3, 0.6]}), ("Recall", {"class_id": 2})):
        ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
        for _ in range(3):
            y_true, y_pred = _batch("multilabel", rng)
            sw = rng.random(sw_shape).astype("float32")
            if name == "Recall" and sw_shape == (B, C):
                continue  # Keras cannot reshape per-class weights after selecting one class
            _close(ours(y_true, y_pred, sample_weight=sw), theirs(y_true, y_pred, sample_weight=sw))


def test_mean_metric_wrapper_with_loss_function_and_kwargs():
    rng = np.random.default_rng(3)
    ours = metrics.MeanMetricWrapper(kgraph.losses.huber, name="h", delta=0.3)
    theirs = keras.metrics.MeanMetricWrapper(keras.losses.huber, name="h", delta=0.3)
    for _ in range(3):
        y_true, y_pred = _batch("regression", rng)
        sw = rng.random((B, 1)).astype("float32")
        _close(ours(y_true, y_pred, sample_weight=sw), theirs(y_true, y_pred, sample_weight=sw))
    assert ours.name == "h" and metrics.MeanMetricWrapper(kgraph.losses.mse).name == "mean_metric_wrapper"


def test_multilabel_auc_builds_on_first_update():
    rng = np.random.default_rng(4)
    ours, theirs = metrics.AUC(multi_label=True), keras.metrics.AUC(multi_label=True)
    assert ours.variables == []
    y_true, y_pred = _batch("multilabel", rng)
    _close(ours(y_true, y_pred), theirs(y_true, y_pred))
    assert [v.shape for v in ours.variables] == [(200, C)] * 4


def test_sub_metric_variables_are_tracked_and_reset():
    class MeanAndSum(metrics.Metric):
        def __init__(self):
            super().__init__(name="pair")
            self.steps = self.add_variable((), "zeros", name="steps")
            self.mean = metrics.Mean(name="inner_mean")
            self.sum = metrics.Sum(name="inner_sum")

        def update_state(self, values):
            self.steps.assign_add(1.0)
            self.mean.update_state(values)
            self.sum.update_state(values)

        def result(self):
            return kgraph.ops.add(self.mean.result(), self.sum.result())

    metric = MeanAndSum()
    assert [v.path for v in metric.variables] == ["pair/steps", "inner_mean/total", "inner_mean/count",
                                                  "inner_sum/total"]
    assert not any(v.trainable for v in metric.variables)
    values = np.arange(4, dtype="float32")
    state = jax.jit(metric.stateless_update_state)(metric.stateless_reset_state(), values)
    _close(metric.stateless_result(state), 1.5 + 6.0)
    metric.update_state(values)
    _close(metric.result(), 7.5)
    metric.reset_state()
    _close([v.numpy() for v in metric.variables], [0.0, 0.0, 0.0, 0.0])


def test_stateless_update_checks_the_number_of_values():
    with pytest.raises(ValueError, match="corresponding 1:1 to Mean"):
        metrics.Mean().stateless_update_state([0.0], np.ones(3, "float32"))


def test_custom_initial_values_are_restored_by_reset():
    class Max(metrics.Metric):
        def __init__(self):
            super().__init__()
            self.best = self.add_variable((), "zeros", name="best")
            self.floor = self.add_variable((2,), kgraph.initializers.Constant(-5.0), name="floor")

        def update_state(self, values):
            self.best.assign(kgraph.ops.maximum(self.best.value, kgraph.ops.max(values)))
            self.floor.assign(kgraph.ops.add(self.floor.value, 1.0))

        def result(self):
            return self.best.value

    metric = Max()
    assert metric.name == "max"
    metric.update_state(np.array([3.0, 7.0], "float32"))
    assert float(metric.result()) == 7.0
    metric.reset_state()
    _close(metric.floor.numpy(), [-5.0, -5.0])
    _close(metric.stateless_reset_state()[1], [-5.0, -5.0])


@pytest.mark.parametrize("name,kwargs", [
    ("AUC", {}), ("AUC", {"num_thresholds": 5, "curve": "PR"}), ("AUC", {"thresholds": [0.25, 0.5]}),
    ("AUC", {"thresholds": [0.5, 0.3]}), ("Precision", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}),
    ("Recall", {"thresholds": [0.0, 0.5, 1.0]}), ("Precision", {"thresholds": [0.0, 0.6]}),
], ids=str)
def test_boundary_and_out_of_range_predictions_match_keras(name, kwargs):
    """Predictions exactly at 0, 1 and at thresholds, and outside [0, 1], are bucketed as Keras does."""
    y_pred = np.array([0.0, 1.0, 0.25, 0.5, 0.75, 1 / 199, 3 / 199, -0.3, 1.7, 0.6, 0.3, 0.0], "float32")
    y_true = np.array([0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1], "float32")
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    _close(ours(y_true, y_pred), theirs(y_true, y_pred))
    for mine, keras_variable in zip(ours.variables, theirs.variables):
        _close(mine.numpy(), np.asarray(keras_variable.value))


def test_update_state_traced_on_symbolic_tensors_matches_eager():
    """Inside a graph trace, metric updates become the graph's state updates, with an unknown batch dim."""
    from kgraph.ir import TensorType
    from kgraph.lowering.jax import lower_to_jax
    from kgraph.tracing import Trace

    rng = np.random.default_rng(6)
    y_true, y_pred = _batch("sparse", rng)
    sw = rng.random((B,)).astype("float32")
    for metric in (metrics.SparseCategoricalAccuracy(), metrics.AUC(num_thresholds=20), metrics.Precision(top_k=2),
                   metrics.RootMeanSquaredError()):
        sparse = isinstance(metric, metrics.SparseCategoricalAccuracy)
        labels = y_true if sparse else np.eye(C, dtype="float32")[y_true.astype(int)]
        with Trace() as t:
            yt = t.input(TensorType("float32", ("batch",) + labels.shape[1:]), "y")
            yp = t.input(TensorType("float32", ("batch", C)), "p")
            w = t.input(TensorType("float32", ("batch",)), "w")
            metric.update_state(yt, yp, sample_weight=w)
        params = {name: np.array(v) for name, v in t.variables.items()}
        _, _, updates = lower_to_jax(t.graph)(params, [labels, y_pred, sw])
        expected = metric.stateless_update_state(metric.stateless_reset_state(), labels, y_pred, sample_weight=sw)
        for variable, value in zip(metric.variables, expected):
            _close(updates[variable.path], value)


@pytest.mark.parametrize("name,kwargs", [
    ("F1Score", {}), ("F1Score", {"average": "macro", "threshold": 0.4}), ("F1Score", {"average": "micro"}),
    ("FBetaScore", {"beta": 2.0, "average": "weighted"}), ("R2Score", {}), ("R2Score", {"class_aggregation": None}),
    ("R2Score", {"class_aggregation": "variance_weighted_average", "num_regressors": 2}),
])
def test_shape_built_metrics_match_keras_eager_and_jitted(name, kwargs):
    """F-scores and R2 size their state from the predictions: at the first update, or from the output shape."""
    rng = np.random.default_rng(zlib.crc32(f"{name}{kwargs}".encode()))
    kind = "multilabel" if name != "R2Score" else "regression"
    batches = [_batch(kind, rng) for _ in range(3)]
    weights = [rng.random((B,)).astype("float32") for _ in batches]
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    for (y_true, y_pred), w in zip(batches, weights):
        ours.update_state(y_true, y_pred, sample_weight=w)
        theirs.update_state(y_true, y_pred, sample_weight=w)
        _close(ours.result(), theirs.result())
    assert [v.path for v in ours.variables] == [v.path for v in theirs.variables]
    assert ours.get_config() == theirs.get_config()
    fresh = getattr(metrics, name)(**kwargs)
    fresh.build_for_output_shape((None, batches[0][1].shape[1]))
    update = jax.jit(lambda state, yt, yp, w: fresh.stateless_update_state(state, yt, yp, sample_weight=w))
    state = fresh.stateless_reset_state()
    for (y_true, y_pred), w in zip(batches, weights):
        state = update(state, y_true, y_pred, w)
    _close(fresh.stateless_result(state), theirs.result())


def test_f1_score_trains_in_fit_sized_from_the_output():
    model = kgraph.Sequential([kgraph.Input((4,)), kgraph.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy", metrics=[metrics.F1Score(average="macro")])
    rng = np.random.default_rng(0)
    history = model.fit(rng.normal(size=(32, 4)), np.eye(3)[rng.integers(0, 3, 32)], epochs=1, verbose=0)
    assert 0.0 <= history.history["f1_score"][0] <= 1.0


def test_new_metric_configs_round_trip_through_keras():
    for metric in (metrics.IoU(3, [1]), metrics.PrecisionAtRecall(0.3), metrics.F1Score(average="macro"),
                   metrics.SparseTopKCategoricalAccuracy(k=3), metrics.TruePositives(thresholds=[0.2, 0.4])):
        theirs = keras.metrics.deserialize(metrics.serialize(metric))
        assert theirs.get_config() == metric.get_config()
        assert metrics.deserialize(keras.metrics.serialize(theirs)).get_config() == metric.get_config()
