"""fit/evaluate/predict given bad or unusual arguments: Keras' behaviour where Keras accepts them, otherwise an
error naming the argument, what was expected and what came."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kgraph

X = np.linspace(0.0, 1.0, 32, dtype="float32").reshape(8, 4)
Y = np.zeros((8, 3), "float32")
LABELS = np.array([0, 1, 2, 0, 1, 2, 0, 1])


def tiny(loss="mse", metrics=None, activation=None):
    inputs = kgraph.Input((4,), name="features")
    model = kgraph.Model(inputs, kgraph.layers.Dense(3, activation=activation, name="scores")(inputs))
    model.compile(optimizer="sgd", loss=loss, metrics=metrics)
    return model


@pytest.fixture(scope="module")
def model():
    return tiny()


# (call, exception, message): `call(model)` runs one bad call on the module's compiled tiny model.
CASES = {
    "batch_size=0": (lambda m: m.fit(X, Y, batch_size=0), ValueError, r"`batch_size` must be a positive integer, got 0"),
    "batch_size='32'": (lambda m: m.predict(X, batch_size="32"), ValueError, r"`batch_size` must be a positive integer, got '32'"),
    "epochs=2.5": (lambda m: m.fit(X, Y, epochs=2.5), TypeError, r"`epochs` must be an integer, got 2\.5 of type float"),
    "initial_epoch=-1": (lambda m: m.fit(X, Y, initial_epoch=-1), ValueError, r"`initial_epoch` must be a non-negative integer, got -1"),
    "validation_freq=0": (lambda m: m.fit(X, Y, validation_data=(X, Y), validation_freq=0), ValueError,
                          r"`validation_freq` must be a positive integer or a collection of epoch numbers, got 0"),
    "validation_split=1.5": (lambda m: m.fit(X, Y, validation_split=1.5), ValueError,
                             r"`validation_split` must be between 0 and 1 \(exclusive\), got 1\.5"),
    "steps_per_epoch=0": (lambda m: m.fit(X, Y, steps_per_epoch=0), ValueError, r"`steps` must be a positive integer, got 0"),
    "validation_data=array": (lambda m: m.fit(X, Y, validation_data=X), ValueError,
                              r"`validation_data` must be a tuple \(x_val, y_val\).*got a ndarray of shape \(8, 4\)"),
    "validation_data=4-tuple": (lambda m: m.fit(X, Y, validation_data=(X, Y, None, None)), ValueError,
                                r"`validation_data` must be a tuple \(x_val, y_val\).*got a tuple of 4 items"),
    "validation_data y None": (lambda m: m.fit(X, Y, validation_data=(X, None)), ValueError,
                               r"`validation_data` .* its y_val is None, but the compiled loss needs targets"),
    "validation_data x None": (lambda m: m.fit(X, Y, validation_data=(None, Y)), ValueError,
                               r"`validation_data` .* its x_val is None"),
    "y wider than output": (lambda m: m.fit(X, np.zeros((8, 5), "float32")), ValueError,
                            r"Targets for output 'scores' have shape \(8, 5\), which loss 'mean_squared_error' cannot "
                            r"pair with the output's shape \(8, 3\)"),
    "sample_weight per class": (lambda m: m.fit(X, Y, sample_weight=np.ones((8, 7))), ValueError,
                                r"`sample_weight` for output 'scores' has shape \(8, 7\), which loss 'mean_squared_error' "
                                r"cannot apply to outputs of shape \(8, 3\); pass one weight per sample, shape \(8,\)"),
    "x/y cardinality": (lambda m: m.fit(X, Y[:5]), ValueError, r"Data cardinality is ambiguous.*'x' sizes: 8 'y' sizes: 5"),
    "sample_weight cardinality": (lambda m: m.fit(X, Y, sample_weight=np.ones(3)), ValueError,
                                  r"'sample_weight' sizes: 3"),
    "x strings": (lambda m: m.predict(np.full((2, 4), "a")), TypeError, r"`x` must hold numbers, got an array of dtype <U1"),
    "x width": (lambda m: m.predict(np.ones((2, 5), "float32")), ValueError,
                r"Input 'features' .* expected shape=\(None, 4\), found shape=\(2, 5\)"),
    "evaluate on 0 rows": (lambda m: m.evaluate(np.zeros((0, 4), "float32"), np.zeros((0, 3), "float32")), ValueError,
                           r"`x` has 0 samples"),
    "class_weight list": (lambda m: m.fit(X, Y, class_weight=[1.0, 2.0]), TypeError,
                          r"`class_weight` must be a dict \{class_index: weight\}, got list"),
    "class_weight str key": (lambda m: m.fit(X, Y, class_weight={"cat": 2.0}), ValueError,
                             r"`class_weight` keys must be non-negative class indices, got 'cat'"),
    "class_weight str value": (lambda m: m.fit(X, Y, class_weight={0: "heavy"}), ValueError,
                               r"`class_weight` values must be numbers, got 'heavy' for class 0"),
    "dict x missing key": (lambda m: m.predict({"pixels": X}), KeyError,
                           r"input dict is missing key\(s\) \['features'\]; expected keys \['features'\], got \['pixels'\]"),
    "dict x extra key": (lambda m: m.predict({"features": X, "extra": X}), ValueError,
                         r"input dict has unknown key\(s\) \['extra'\]; expected keys \['features'\]"),
    "dict y unknown key": (lambda m: m.fit(X, {"nope": Y}), ValueError,
                           r"target dict has unknown key\(s\) \['nope'\]; the outputs are \['scores'\]"),
    "two arrays for one input": (lambda m: m.predict([X, X]), ValueError,
                                 r"expects 1 input\(s\) \['features'\], got a list of 2 arrays"),
    "callbacks of strings": (lambda m: m.fit(X, Y, callbacks=["early_stopping"]), TypeError,
                             r"`callbacks` must be a list of keras\.callbacks\.Callback instances, got 'early_stopping'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_argument_names_itself(model, case):
    call, kind, message = CASES[case]
    with pytest.raises(kind, match=message):
        call(_quiet(model))


def _quiet(model):
    """The model with verbose=0 as the default of fit/evaluate/predict, so the table stays short."""
    class Quiet:
        def __getattr__(self, name):
            method = getattr(model, name)
            return lambda *a, **k: method(*a, **{"verbose": 0, **k})
    return Quiet()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=0, max_size=4).filter(lambda dims: len(dims) != 1))
def test_any_wrong_rank_names_the_input_never_jax(model, trailing):
    x = np.ones((2, *trailing), "float32")
    with pytest.raises(ValueError, match=r"Input 'features' of model .* expected shape=\(None, 4\), found shape="):
        model.predict(x, verbose=0)


def test_predict_on_zero_rows_returns_empty_outputs_of_the_output_shape():
    inputs = kgraph.Input((4,), name="features")
    outputs = {"scores": kgraph.layers.Dense(3)(inputs), "index": kgraph.ops.argmax(inputs, axis=-1)}
    result = kgraph.Model(inputs, outputs).predict(np.zeros((0, 4), "float32"), verbose=0)
    assert result["scores"].shape == (0, 3) and result["scores"].dtype == np.float32
    assert result["index"].shape == (0,) and result["index"].dtype == np.int32


@pytest.mark.parametrize("epochs", [-2, 0])
def test_fit_with_no_epochs_returns_an_empty_history_as_keras_does(epochs):
    model = tiny()
    before = model.get_weights()
    history = model.fit(X, Y, epochs=epochs, verbose=0)
    assert isinstance(history, kgraph.callbacks.History) and history.history == {} and history.epoch == []
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_labels_as_python_lists_are_converted():
    model = tiny(loss="sparse_categorical_crossentropy", activation="softmax")
    from_list = model.evaluate(X.tolist(), LABELS.tolist(), verbose=0)
    assert from_list == pytest.approx(model.evaluate(X, LABELS, verbose=0))
    assert model.fit(X, LABELS.tolist(), epochs=2, verbose=0, sample_weight=[1.0] * 8).history["loss"][1] > 0


def test_a_list_validation_data_is_read_as_x_and_y():
    history = tiny().fit(X, Y, validation_data=[X, Y], verbose=0)
    assert set(history.history) == {"loss", "val_loss"}


def test_a_single_callback_need_not_be_in_a_list():
    history = kgraph.callbacks.History()
    assert tiny().fit(X, Y, epochs=2, callbacks=history, verbose=0) is history


def test_class_weight_of_a_class_the_output_never_has_is_unused_as_in_keras():
    """Keras 3.15 accepts `{0: 1, 7: 2}` for a 3-class output; class 7 never occurs, so only class 0 is weighted."""
    model = tiny(loss="sparse_categorical_crossentropy", activation="softmax")
    weights = model.get_weights()
    with_unused = model.fit(X, LABELS, class_weight={0: 1.0, 7: 2.0}, shuffle=False, verbose=0).history["loss"]
    model.set_weights(weights)
    without = model.fit(X, LABELS, class_weight={0: 1.0}, shuffle=False, verbose=0).history["loss"]
    assert with_unused == pytest.approx(without)


class VectorSum(kgraph.metrics.Metric):
    """A metric whose result is a vector: the per-class sum of the predictions."""

    def __init__(self, name="vector_sum", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(3,), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign(self.total + kgraph.ops.sum(y_pred, axis=0))

    def result(self):
        return self.total + 0.0


class BatchCount(kgraph.metrics.Metric):
    """A metric whose `result()` is its own Variable."""

    def __init__(self, name="batch_count", **kwargs):
        super().__init__(name=name, **kwargs)
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count.assign(self.count + 1.0)

    def result(self):
        return self.count


def test_a_vector_metric_is_logged_as_an_array_as_keras_logs_it():
    model = tiny(metrics=[VectorSum()])
    history = model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    logged = history.history["vector_sum"][0]
    assert isinstance(logged, np.ndarray) and logged.shape == (3,)
    evaluated = model.evaluate(X, Y, verbose=0, return_dict=True)["vector_sum"]
    np.testing.assert_allclose(evaluated, model.predict(X, verbose=0).sum(axis=0), rtol=1e-4, atol=1e-4)


def test_a_metric_returning_its_variable_reports_the_value():
    model = tiny(metrics=[BatchCount()])
    assert model.fit(X, Y, batch_size=2, epochs=1, verbose=0).history["batch_count"] == [4.0]
    assert model.evaluate(X, Y, batch_size=4, verbose=0, return_dict=True)["batch_count"] == 2.0
