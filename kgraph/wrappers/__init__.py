"""`kgraph.wrappers`: scikit-learn estimators around kgraph models, as `keras.wrappers`."""

from kgraph.wrappers.sklearn_wrapper import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
