"""Differential tests: kgraph losses against Keras 3's (JAX backend) eagerly, under jax.jit, and traced to IR."""

import zlib

import jax
import keras
import numpy as np
import pytest

import kgraph
from kgraph.ir import TensorType
from kgraph.lowering.jax import lower_to_jax
from kgraph.tracing import Trace

RTOL, ATOL = 1e-5, 1e-6
B, D, C, T = 16, 5, 7, 3
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


def _probs(rng, shape):
    p = rng.random(shape).astype("float32") + 0.05
    return (p / p.sum(-1, keepdims=True)).astype("float32")


def _data(kind, rng, rank=2):
    """(y_true, y_pred) for a loss family; rank 3 adds a time axis."""
    lead = (B,) if rank == 2 else (B, T)
    if kind == "regression":
        return rng.normal(size=lead + (D,)).astype("float32"), rng.normal(size=lead + (D,)).astype("float32")
    if kind == "positive":
        return (rng.random(lead + (D,)) * 3).astype("float32"), (rng.random(lead + (D,)) * 3 + 0.05).astype("float32")
    if kind == "signs":
        return np.sign(rng.normal(size=lead + (D,))).astype("float32"), rng.normal(size=lead + (D,)).astype("float32")
    if kind == "distribution":
        return _probs(rng, lead + (D,)), _probs(rng, lead + (D,))
    if kind == "binary":
        y = (rng.random(lead + (D,)) > 0.5).astype("float32")
        return y, rng.random(lead + (D,)).astype("float32")
    if kind == "binary_logits":
        y = (rng.random(lead + (D,)) > 0.5).astype("float32")
        return y, (3 * rng.normal(size=lead + (D,))).astype("float32")
    if kind == "categorical":
        return np.eye(C, dtype="float32")[rng.integers(0, C, lead)], _probs(rng, lead + (C,))
    if kind == "categorical_logits":
        logits = (2 * rng.normal(size=lead + (C,))).astype("float32")
        return np.eye(C, dtype="float32")[rng.integers(0, C, lead)], logits
    if kind == "sparse":
        return rng.integers(0, C, lead).astype("float32"), _probs(rng, lead + (C,))
    if kind == "sparse_logits":
        return rng.integers(0, C, lead).astype("float32"), (2 * rng.normal(size=lead + (C,))).astype("float32")
    raise AssertionError(kind)


# (class name, constructor kwargs, data kind)
SPECS = [
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("Huber", {}, "regression"),
    ("Huber", {"delta": 0.37}, "regression"),
    ("KLDivergence", {}, "distribution"),
    ("CosineSimilarity", {}, "regression"),
    ("CosineSimilarity", {"axis": 0}, "regression"),
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {"label_smoothing": 0.2}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True}, "binary_logits"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "binary_logits"),
    ("CategoricalCrossentropy", {}, "categorical"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.15}, "categorical"),
    ("CategoricalCrossentropy", {"from_logits": True}, "categorical_logits"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.3}, "categorical_logits"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sparse_logits"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 2}, "sparse"),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 0}, "sparse_logits"),
    ("Hinge", {}, "binary"),
    ("Hinge", {}, "signs"),
    ("SquaredHinge", {}, "binary"),
    ("CategoricalHinge", {}, "categorical"),
    ("LogCosh", {}, "regression"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("Poisson", {}, "positive"),
    ("BinaryFocalCrossentropy", {}, "binary"),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5, "label_smoothing": 0.1},
     "binary"),
    ("BinaryFocalCrossentropy", {"from_logits": True, "gamma": 3.0}, "binary_logits"),
    ("CategoricalFocalCrossentropy", {}, "categorical"),
    ("CategoricalFocalCrossentropy", {"from_logits": True, "alpha": 0.5, "label_smoothing": 0.1},
     "categorical_logits"),
    ("CategoricalGeneralizedCrossEntropy", {}, "sparse"),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.8}, "sparse"),
    ("Dice", {"axis": -1}, "binary"),
    ("Tversky", {"alpha": 0.7, "beta": 0.3, "axis": -1}, "binary"),
]
SPEC_IDS = [f"{name}-{kwargs}" for name, kwargs, _ in SPECS]


def _weights(kind, rng, shape):
    if kind is None:
        return None
    w = rng.random(shape).astype("float32")
    w[0] = 0.0  # a zero weight exercises the masking role of sample weights
    return w


def _close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name,kwargs,kind", SPECS, ids=SPEC_IDS)
def test_matches_keras_for_every_reduction_and_weighting(name, kwargs, kind):
    rng = np.random.default_rng(zlib.crc32(f"{name}{kwargs}".encode()))
    y_true, y_pred = _data(kind, rng)
    if "ignore_class" in kwargs:
        y_true[:3] = kwargs["ignore_class"]
    n = D if kwargs.get("axis") == 0 else B  # cosine similarity over axis 0 gives one value per feature
    for reduction in REDUCTIONS:
        ours = getattr(kgraph.losses, name)(reduction=reduction, **kwargs)
        theirs = getattr(keras.losses, name)(reduction=reduction, **kwargs)
        for sw_shape in (None, (n,), (n, 1)):
            sw = None if sw_shape is None else _weights("w", rng, sw_shape)
            _close(ours(y_true, y_pred, sample_weight=sw), theirs(y_true, y_pred, sample_weight=sw))


@pytest.mark.parametrize("name,kwargs,kind", [
    ("MeanSquaredError", {}, "regression"),
    ("BinaryCrossentropy", {"from_logits": True}, "binary_logits"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "categorical"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sparse_logits"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 1}, "sparse"),
])
def test_per_timestep_weights_match_keras(name, kwargs, kind):
    """Rank-3 inputs give per-timestep losses (B, T); weights of shape (B, T) weight each element."""
    rng = np.random.default_rng(7)
    y_true, y_pred = _data(kind, rng, rank=3)
    if "ignore_class" in kwargs:
        y_true[0, :2] = kwargs["ignore_class"]
    sw = _weights("w", rng, (B, T))
    for reduction in REDUCTIONS:
        ours = getattr(kgraph.losses, name)(reduction=reduction, **kwargs)
        theirs = getattr(keras.losses, name)(reduction=reduction, **kwargs)
        _close(ours(y_true, y_pred), theirs(y_true, y_pred))
        _close(ours(y_true, y_pred, sample_weight=sw), theirs(y_true, y_pred, sample_weight=sw))


def test_sparse_labels_with_trailing_axis_and_int_dtype():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, C, (B, 1))
    logits = rng.normal(size=(B, C)).astype("float32")
    ours = kgraph.losses.SparseCategoricalCrossentropy(from_logits=True)
    theirs = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    _close(ours(labels, logits), theirs(labels, logits))
    _close(ours(labels.astype("int32"), logits, sample_weight=np.ones((B, 1), "float32")),
           theirs(labels.astype("int32"), logits, sample_weight=np.ones((B, 1), "float32")))


def test_all_ignored_gives_zero_not_nan():
    y_true = np.full((B,), 3.0, "float32")
    y_pred = np.full((B, C), 0.2, "float32")
    loss = kgraph.losses.SparseCategoricalCrossentropy(ignore_class=3)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(ignore_class=3)
    assert float(loss(y_true, y_pred)) == 0.0 == float(keras_loss(y_true, y_pred))


FUNCTIONS = [
    ("mean_squared_error", {}, "regression"),
    ("mean_absolute_error", {}, "regression"),
    ("mean_absolute_percentage_error", {}, "regression"),
    ("huber", {"delta": 2.0}, "regression"),
    ("kl_divergence", {}, "distribution"),
    ("cosine_similarity", {"axis": -1}, "regression"),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, "binary_logits"),
    ("categorical_crossentropy", {"label_smoothing": 0.2}, "categorical"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, "sparse_logits"),
    ("sparse_categorical_crossentropy", {"ignore_class": 4}, "sparse"),
    ("hinge", {}, "binary"),
    ("squared_hinge", {}, "signs"),
    ("categorical_hinge", {}, "categorical"),
    ("log_cosh", {}, "regression"),
    ("mean_squared_logarithmic_error", {}, "positive"),
    ("poisson", {}, "positive"),
    ("binary_focal_crossentropy", {"apply_class_balancing": True}, "binary"),
    ("categorical_focal_crossentropy", {"gamma": 1.0}, "categorical"),
    ("categorical_generalized_cross_entropy", {"q": 0.3}, "sparse"),
    ("dice", {}, "binary"),
    ("dice", {"axis": (1,)}, "binary"),
    ("tversky", {"alpha": 0.2, "beta": 0.8}, "binary"),
]


@pytest.mark.parametrize("name,kwargs,kind", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_functions_match_keras(name, kwargs, kind):
    y_true, y_pred = _data(kind, np.random.default_rng(11))
    _close(getattr(kgraph.losses, name)(y_true, y_pred, **kwargs),
           getattr(keras.losses, name)(y_true, y_pred, **kwargs))


def test_aliases_are_the_functions():
    losses = kgraph.losses
    assert losses.mse is losses.mean_squared_error and losses.mae is losses.mean_absolute_error
    assert losses.mape is losses.mean_absolute_percentage_error and losses.kld is losses.kl_divergence


@pytest.mark.parametrize("name,kwargs,kind", SPECS[::2] + [SPECS[-1]], ids=SPEC_IDS[::2] + [SPEC_IDS[-1]])
def test_jit_matches_eager(name, kwargs, kind):
    rng = np.random.default_rng(5)
    y_true, y_pred = _data(kind, rng)
    sw = _weights("w", rng, (B,))
    for reduction in ("sum_over_batch_size", "mean_with_sample_weight", None):
        loss = getattr(kgraph.losses, name)(reduction=reduction, **kwargs)
        jitted = jax.jit(lambda yt, yp, w: loss(yt, yp, sample_weight=w))
        _close(jitted(y_true, y_pred, sw), loss(y_true, y_pred, sample_weight=sw))
        theirs = getattr(keras.losses, name)(reduction=reduction, **kwargs)
        _close(jitted(y_true, y_pred, sw), theirs(y_true, y_pred, sample_weight=sw))


def _traced(loss, y_type, p_type, weighted):
    """Traces `loss` on symbolic inputs with an unknown batch dim and lowers the graph to JAX."""
    with Trace() as t:
        yt = t.input(y_type, "y")
        yp = t.input(p_type, "p")
        sw = t.input(TensorType("float32", ("batch",)), "w") if weighted else None
        value = loss(yt, yp, sample_weight=sw)
    assert value.shape in ((), (None,)), value.shape
    t.graph.outputs = [value.ir_value]
    fn = lower_to_jax(t.graph)
    return lambda *arrays: fn({}, list(arrays))[0][0]


@pytest.mark.parametrize("name,kwargs,kind", SPECS, ids=SPEC_IDS)
def test_symbolic_trace_matches_keras(name, kwargs, kind):
    rng = np.random.default_rng(9)
    y_true, y_pred = _data(kind, rng)
    if "ignore_class" in kwargs:
        y_true[:2] = kwargs["ignore_class"]
    y_type = TensorType("float32", ("batch",) + y_true.shape[1:])
    p_type = TensorType("float32", ("batch",) + y_pred.shape[1:])
    sw = _weights("w", rng, (B,))
    if name == "CosineSimilarity" and kwargs.get("axis") == 0:
        pytest.skip("reduces over the batch axis: there is no per-sample value to weight")
    for reduction in ("sum_over_batch_size", "sum", "mean_with_sample_weight", "none"):
        ours = getattr(kgraph.losses, name)(reduction=reduction, **kwargs)
        theirs = getattr(keras.losses, name)(reduction=reduction, **kwargs)
        _close(_traced(ours, y_type, p_type, False)(y_true, y_pred), theirs(y_true, y_pred))
        _close(_traced(ours, y_type, p_type, True)(y_true, y_pred, sw), theirs(y_true, y_pred, sample_weight=sw))


def test_symbolic_sparse_int_labels():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, C, (B,)).astype("int32")
    logits = rng.normal(size=(B, C)).astype("float32")
    fn = _traced(kgraph.losses.SparseCategoricalCrossentropy(from_logits=True),
                 TensorType("int32", ("batch",)), TensorType("float32", ("batch", C)), False)
    _close(fn(labels, logits), keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits))


def test_custom_loss_subclass_uses_base_reduction():
    class Cubed(kgraph.losses.Loss):
        def call(self, y_true, y_pred):
            return kgraph.ops.mean(kgraph.ops.abs(y_true - y_pred) ** 3, axis=-1)

    class KCubed(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return keras.ops.mean(keras.ops.abs(y_true - y_pred) ** 3, axis=-1)

    y_true, y_pred = _data("regression", np.random.default_rng(4))
    sw = np.linspace(0, 1, B).astype("float32")
    assert Cubed().name == "cubed"
    for reduction in REDUCTIONS:
        _close(Cubed(reduction=reduction)(y_true, y_pred, sw), KCubed(reduction=reduction)(y_true, y_pred, sw))


def test_bad_reduction_lists_allowed():
    with pytest.raises(ValueError, match="reduction") as info:
        kgraph.losses.MeanSquaredError(reduction="avg")
    assert "sum_over_batch_size" in str(info.value) and "'avg'" in str(info.value)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="same shape"):
        kgraph.losses.categorical_crossentropy(np.zeros((4, 3), "float32"), np.ones((4, 5), "float32"))
    with pytest.raises(ValueError, match="same shape"):
        kgraph.losses.sparse_categorical_crossentropy(np.zeros((4, 2), "float32"), np.ones((4, 5), "float32"))


def test_gradients_are_finite_and_match_keras():
    """Ignored entries and clipped probabilities must not leak NaNs into the gradient."""
    rng = np.random.default_rng(8)
    labels, probs = _data("sparse", rng)
    labels[:4] = 3
    probs[0, 0] = 0.0
    for ours, theirs in ((kgraph.losses.SparseCategoricalCrossentropy(ignore_class=3),
                          keras.losses.SparseCategoricalCrossentropy(ignore_class=3)),
                         (kgraph.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=3),
                          keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=3)),
                         (kgraph.losses.BinaryCrossentropy(), keras.losses.BinaryCrossentropy())):
        y_true, y_pred = (labels, probs) if "Sparse" in type(ours).__name__ else _data("binary", rng)
        grad = jax.grad(lambda p: ours(y_true, p))(y_pred)
        assert np.isfinite(np.asarray(grad)).all()
        expected = np.asarray(jax.grad(lambda p: theirs(y_true, p))(y_pred))
        finite = np.isfinite(expected)
        _close(np.asarray(grad)[finite], expected[finite])


def test_ctc_matches_keras_eager_and_jitted():
    rng = np.random.default_rng(4)
    labels = rng.integers(1, C, (B, 4))
    labels[:, 3] = 0  # padding (the blank) shortens some label sequences
    logits = rng.normal(size=(B, 9, C)).astype("float32")
    for reduction in ("sum_over_batch_size", None):
        ours, theirs = kgraph.losses.CTC(reduction=reduction), keras.losses.CTC(reduction=reduction)
        _close(ours(labels, logits), theirs(labels, logits))
        _close(jax.jit(lambda a, b: ours(a, b))(labels, logits), theirs(labels, logits))


def test_circle_matches_keras_and_averages_over_positive_pairs():
    rng = np.random.default_rng(6)
    embeddings = rng.normal(size=(B, 8)).astype("float32")
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    labels = rng.integers(0, 4, (B,))
    for kwargs in ({}, {"gamma": 10.0, "margin": 0.2, "remove_diagonal": False}):
        _close(kgraph.losses.Circle(**kwargs)(labels, embeddings), keras.losses.Circle(**kwargs)(labels, embeddings))
    _close(kgraph.losses.circle(labels, embeddings), keras.losses.circle(labels, embeddings))


@pytest.mark.parametrize("name", ["Dice", "Tversky", "CTC", "Circle", "BinaryFocalCrossentropy", "Hinge", "LogCosh"])
def test_new_loss_configs_equal_keras_and_round_trip(name):
    ours, theirs = getattr(kgraph.losses, name)(), getattr(keras.losses, name)()
    assert ours.get_config() == theirs.get_config()
    assert kgraph.losses.deserialize(kgraph.losses.serialize(ours)).get_config() == ours.get_config()
    assert type(keras.losses.deserialize(kgraph.losses.serialize(ours))) is type(theirs)


def test_unknown_loss_identifier_lists_the_names():
    with pytest.raises(ValueError, match="Could not interpret loss identifier: 'dicee'.*dice"):
        kgraph.losses.get("dicee")
