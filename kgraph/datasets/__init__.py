"""Datasets in Keras' layout, loaded from local copies or downloaded and cached (`kgraph.datasets.mnist`)."""

from kgraph.datasets import mnist
from kgraph.datasets.download import DatasetNotFoundError

__all__ = ["DatasetNotFoundError", "mnist"]
