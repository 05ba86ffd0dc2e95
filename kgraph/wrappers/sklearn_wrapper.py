"""scikit-learn estimators (classifier, regressor, transformer) that fit and predict with a kgraph model, as
Keras 3's `keras.wrappers` do; scikit-learn is needed only when one is created."""

from __future__ import annotations

import copy

import numpy as np

from kgraph.models.cloning import clone_model
from kgraph.models.model import Model

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.utils.multiclass import type_of_target
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError:
    sklearn = None

    class BaseEstimator:
        """Stands in for scikit-learn's base classes, so that the wrappers are defined without it."""

    class ClassifierMixin:
        pass

    class RegressorMixin:
        pass

    class TransformerMixin:
        pass


class TargetReshaper(TransformerMixin, BaseEstimator):
    """Makes 1-D targets 2-D (for one-hot encoding) and back."""

    def fit(self, y):
        self.ndim_ = y.ndim
        return self

    def transform(self, y):
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y):
        check_is_fitted(self)
        return np.squeeze(y, axis=1) if self.ndim_ == 1 and y.ndim == 2 else y


def _check_model(model) -> None:
    config = model.get_compile_config() if getattr(model, "compiled", False) else None
    if config is None or config.get("loss") is None or model.optimizer is None:
        raise RuntimeError("Given model needs to be compiled, and have a loss and an optimizer.")


def _known_target(y):
    target_type = type_of_target(y)
    if target_type == "unknown":
        raise ValueError(f"Unknown label type for data: {y!r}")
    return target_type


class SKLBase(BaseEstimator):
    """Base of the scikit-learn wrappers.

    Args:
        model: A compiled kgraph `Model` (cloned, with its compile settings, before each fit) or a callable
            `model(X=..., y=..., **model_kwargs)` returning a compiled model.
        warm_start: Whether a new `fit` continues training the fitted model instead of starting from a new one.
        model_kwargs: Keyword arguments for `model` when it is a callable.
        fit_kwargs: Keyword arguments for `model.fit`; those given to `fit` take precedence.
    """

    def __init__(self, model, warm_start: bool = False, model_kwargs: dict | None = None,
                 fit_kwargs: dict | None = None):
        if sklearn is None:
            raise ImportError(f"{type(self).__name__} requires `scikit-learn` to be installed. "
                              "Run `pip install scikit-learn` to install it.")
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def __sklearn_clone__(self):
        model = self.model if callable(self.model) and not isinstance(self.model, Model) else copy.deepcopy(self.model)
        return type(self)(model=model, warm_start=self.warm_start, model_kwargs=self.model_kwargs,
                          fit_kwargs=self.fit_kwargs)

    @property
    def epoch_(self) -> int:
        """The number of epochs of the last fit."""
        history = getattr(self, "history_", None)
        return len(history.epoch) if history is not None else 0

    def _get_model(self, X, y):
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Model):
            model = clone_model(self.model)
            config = self.model.get_compile_config()
            if config is not None:
                model.compile_from_config(config)
            return model
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def fit(self, X, y, **kwargs):
        """Fits a model on `X` (n_samples, n_features) and `y`; `kwargs` go to `model.fit`."""
        X, y = validate_data(self, X, y)
        y = self._process_target(y, reset=True)
        model = self._get_model(X, y)
        _check_model(model)
        fit_kwargs = {**(self.fit_kwargs or {}), **kwargs}
        self.history_ = model.fit(X, y, **fit_kwargs)
        self.model_ = model
        return self

    def predict(self, X):
        """The model's predictions for `X`, in the targets' form."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self._reverse_process_target(np.asarray(self.model_.predict(X, verbose=0)))

    def _process_target(self, y, reset: bool = False):
        _known_target(y)
        if reset:
            self._target_encoder = TargetReshaper().fit(y)
        return self._target_encoder.transform(y)

    def _reverse_process_target(self, y):
        return self._target_encoder.inverse_transform(y)


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """A scikit-learn classifier: targets are one-hot encoded for the model and predictions decoded back to the
    class labels (`classes_`). Args as `SKLBase`."""

    def decision_function(self, X):
        """The model's raw outputs for `X`."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return np.asarray(self.model_.predict(X, verbose=0))

    def _process_target(self, y, reset: bool = False):
        target_type = _known_target(y)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(f"Only binary and multiclass target types are supported. Target type: {target_type}")
        if reset:
            self._target_encoder = make_pipeline(TargetReshaper(), OneHotEncoder(sparse_output=False)).fit(y)
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
        return self._target_encoder.transform(y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, SKLBase):
    """A scikit-learn regressor around a kgraph model. Args as `SKLBase`."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, SKLBase):
    """A scikit-learn transformer whose `transform` is the fitted model's predictions. Args as `SKLBase`."""

    def transform(self, X):
        """The model's outputs for `X`."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return np.asarray(self.model_.predict(X, verbose=0))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
