"""kgraph.losses' names, configs, get/serialize/deserialize, checked against Keras 3's where they agree."""

import keras
import numpy as np
import pytest

import kgraph
from kgraph import losses

CONFIGURED = [
    losses.MeanSquaredError(reduction="sum", name="m"),
    losses.MeanAbsoluteError(),
    losses.MeanAbsolutePercentageError(reduction=None),
    losses.Huber(delta=0.5, reduction="mean"),
    losses.KLDivergence(),
    losses.CosineSimilarity(axis=1),
    losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    losses.CategoricalCrossentropy(label_smoothing=0.2, axis=-1, reduction="mean_with_sample_weight"),
    losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1),
]


def _inputs(loss):
    rng = np.random.default_rng(0)  # the shapes of test_losses.py, so JAX's eager op cache is reused
    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        return rng.integers(0, 7, (16,)).astype("float32"), rng.normal(size=(16, 7)).astype("float32")
    y = rng.random((16, 5)).astype("float32")
    return (y > 0.5).astype("float32"), rng.random((16, 5)).astype("float32") + 0.01


def test_default_names_match_keras():
    for name in ("MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "Huber", "KLDivergence",
                 "CosineSimilarity", "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy"):
        assert getattr(losses, name)().name == getattr(keras.losses, name)().name


def test_keras_config_keys_are_kept():
    """Our configs hold every key Keras' do, with the same values (plus `delta`/`axis` Keras drops)."""
    for ours in CONFIGURED:
        theirs = getattr(keras.losses, type(ours).__name__).from_config(ours.get_config())
        ours_config = ours.get_config()
        for key, value in theirs.get_config().items():
            assert ours_config[key] == value, (type(ours).__name__, key)


@pytest.mark.parametrize("loss", CONFIGURED, ids=[type(l).__name__ for l in CONFIGURED])
def test_serialize_round_trip(loss):
    config = losses.serialize(loss)
    assert config["class_name"] == type(loss).__name__
    restored = losses.deserialize(config)
    assert type(restored) is type(loss) and restored.get_config() == loss.get_config()
    y_true, y_pred = _inputs(loss)
    np.testing.assert_allclose(np.asarray(restored(y_true, y_pred)), np.asarray(loss(y_true, y_pred)))
    assert type(losses.get(config)) is type(loss)
    # Keras reads our config and computes the same loss.
    theirs = keras.losses.deserialize(config)
    assert type(theirs).__name__ == type(loss).__name__
    np.testing.assert_allclose(np.asarray(theirs(y_true, y_pred)), np.asarray(loss(y_true, y_pred)),
                               rtol=1e-5, atol=1e-6)


def test_reads_keras_serialized_losses():
    theirs = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3, reduction="sum")
    ours = losses.deserialize(keras.losses.serialize(theirs))
    assert isinstance(ours, losses.CategoricalCrossentropy)
    assert (ours.from_logits, ours.label_smoothing, ours.reduction) == (True, 0.3, "sum")
    assert losses.deserialize(keras.losses.serialize(keras.losses.mean_squared_error)) is losses.mean_squared_error


def test_function_serialization_round_trip():
    for fn in (losses.mean_squared_error, losses.huber, losses.sparse_categorical_crossentropy):
        config = losses.serialize(fn)
        assert config["class_name"] == "function" and config["config"] == fn.__name__
        assert losses.deserialize(config) is fn
        assert losses.deserialize(fn.__name__) is fn


def test_loss_function_wrapper_config_round_trip():
    wrapper = losses.LossFunctionWrapper(losses.huber, reduction="sum", name="h", delta=0.25)
    config = wrapper.get_config()
    assert config["fn"]["config"] == "huber" and config["delta"] == 0.25
    restored = losses.LossFunctionWrapper.from_config(config)
    assert restored.fn is losses.huber and restored.name == "h" and restored.reduction == "sum"
    y_true, y_pred = _inputs(wrapper)
    expected = keras.losses.Huber(delta=0.25, reduction="sum")(y_true, y_pred)
    np.testing.assert_allclose(np.asarray(restored(y_true, y_pred)), np.asarray(expected), rtol=1e-5)


@pytest.mark.parametrize("identifier,cls", [
    ("mse", losses.MeanSquaredError), ("MSE", losses.MeanSquaredError), ("mean_squared_error", losses.MeanSquaredError),
    ("mae", losses.MeanAbsoluteError), ("mape", losses.MeanAbsolutePercentageError), ("kld", losses.KLDivergence),
    ("bce", losses.BinaryCrossentropy), ("huber", losses.Huber), ("cosine_similarity", losses.CosineSimilarity),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
    ("categorical_crossentropy", losses.CategoricalCrossentropy), ("binary_crossentropy", losses.BinaryCrossentropy),
    ("CategoricalCrossentropy", losses.CategoricalCrossentropy), ("Huber", losses.Huber),
])
def test_get_names_give_loss_instances(identifier, cls):
    loss = losses.get(identifier)
    assert type(loss) is cls
    # Same numbers as what Keras' get returns for the same name (a function or an instance).
    y_true, y_pred = _inputs(loss)
    if cls is losses.SparseCategoricalCrossentropy:
        y_pred = np.abs(y_pred) + 0.01
    np.testing.assert_allclose(np.asarray(loss(y_true, y_pred)),
                               np.mean(np.asarray(keras.losses.get(identifier)(y_true, y_pred))), rtol=1e-5, atol=1e-6)


def test_get_passes_through_and_instantiates():
    loss = losses.Huber()
    assert losses.get(loss) is loss
    assert losses.get(None) is None
    assert type(losses.get(losses.KLDivergence)) is losses.KLDivergence

    def custom(y_true, y_pred):
        return y_pred

    assert losses.get(custom) is custom
    config = {"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}}
    assert losses.get(config).from_logits is True


def test_unknown_identifiers_raise_with_valid_names():
    with pytest.raises(ValueError) as info:
        losses.get("foo")
    message = str(info.value)
    assert message.startswith("Could not interpret loss identifier: 'foo'.")
    assert "mse" in message and "sparse_categorical_crossentropy" in message
    with pytest.raises(ValueError, match="Could not interpret loss identifier: 42"):
        losses.get(42)
    with pytest.raises(ValueError, match="Could not interpret loss identifier: 'Nope'"):
        losses.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="class_name"):
        losses.deserialize({"config": {}})


def test_custom_objects_in_deserialize():
    class MyLoss(losses.Loss):
        def call(self, y_true, y_pred):
            return kgraph.ops.mean(y_pred, axis=-1)

    restored = losses.deserialize(losses.serialize(MyLoss(name="mine")), custom_objects={"MyLoss": MyLoss})
    assert isinstance(restored, MyLoss) and restored.name == "mine"
