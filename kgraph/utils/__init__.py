"""`kgraph.utils`: seeds and helpers users reach for."""

from kgraph.random import set_seed
from kgraph.utils.plot_model import plot_model
from kgraph.utils.py_dataset import PyDataset, Sequence


def set_random_seed(seed: int) -> None:
    """Seeds Python, NumPy and kgraph's own generator so CPU runs repeat exactly (weights, dropout, shuffling)."""
    set_seed(seed)


__all__ = ["PyDataset", "Sequence", "plot_model", "set_random_seed"]
