"""kgraph.wrappers: scikit-learn estimators around kgraph models, run through scikit-learn's own tools."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import kgraph
from kgraph.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer


def dynamic_model(X, y, loss, hidden=8, activation=None):
    inputs = kgraph.Input((X.shape[1],))
    h = kgraph.layers.Dense(hidden, activation="relu")(inputs)
    outputs = kgraph.layers.Dense(y.shape[1] if y.ndim > 1 else 1, activation=activation)(h)
    model = kgraph.Model(inputs, outputs)
    model.compile(optimizer=kgraph.optimizers.Adam(0.05), loss=loss)
    return model


def test_classifier_cross_validates_with_sklearn():
    X, y = make_classification(n_samples=120, n_features=6, n_informative=4, n_classes=3, random_state=0)
    est = SKLearnClassifier(model=dynamic_model, model_kwargs={"loss": "categorical_crossentropy",
                                                              "activation": "softmax"},
                            fit_kwargs={"epochs": 20, "batch_size": 16, "verbose": 0})
    scores = cross_val_score(make_pipeline(StandardScaler(), est), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.6  # chance is 1/3
    est.fit(X, y)
    assert list(est.classes_) == [0, 1, 2] and est.epoch_ == 20
    assert set(est.predict(X)) <= {0, 1, 2} and est.decision_function(X).shape == (120, 3)


@pytest.mark.slow
def test_regressor_from_a_compiled_model_is_cloned_and_scores():
    X, y = make_regression(n_samples=90, n_features=4, noise=0.1, random_state=1)
    y = (y / y.std()).astype("float32")
    model = dynamic_model(X, y, "mse")
    est = SKLearnRegressor(model=model, fit_kwargs={"epochs": 30, "batch_size": 16, "verbose": 0})
    scores = cross_val_score(est, X, y, cv=3, scoring="r2")
    assert scores.mean() > 0.5
    before = [w.copy() for w in model.get_weights()]
    est = clone(est).fit(X, y)
    assert est.model_ is not model and est.predict(X).shape == (90,)
    for weight, original in zip(model.get_weights(), before):  # the given model itself is not trained
        np.testing.assert_array_equal(weight, original)


def test_transformer_gives_model_outputs():
    X, y = make_regression(n_samples=40, n_features=3, random_state=2)
    est = SKLearnTransformer(model=dynamic_model, model_kwargs={"loss": "mse"}, fit_kwargs={"epochs": 2, "verbose": 0})
    out = est.fit(X, y).transform(X)
    np.testing.assert_allclose(out, est.model_.predict(X, verbose=0), rtol=1e-6)
    assert out.shape == (40, 1)


def test_warm_start_continues_the_fitted_model():
    X, y = make_regression(n_samples=32, n_features=3, random_state=3)
    est = SKLearnRegressor(model=dynamic_model, model_kwargs={"loss": "mse"}, warm_start=True,
                           fit_kwargs={"epochs": 1, "verbose": 0})
    first = est.fit(X, y).model_
    assert est.fit(X, y).model_ is first


def test_uncompiled_model_and_bad_targets_are_refused():
    X, y = make_classification(n_samples=20, n_features=4, random_state=0)
    model = kgraph.Sequential([kgraph.Input((4,)), kgraph.layers.Dense(2)])
    with pytest.raises(RuntimeError, match="needs to be compiled"):
        SKLearnClassifier(model=model).fit(X, y)
    with pytest.raises(ValueError, match="Only binary and multiclass"):
        SKLearnClassifier(model=dynamic_model, model_kwargs={"loss": "mse"}).fit(X, np.linspace(0, 1, 20))
