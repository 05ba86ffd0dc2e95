"""`kgraph.utils`: seeds and helpers users reach for."""

from kgraph.random import set_seed
from kgraph.utils.plot_model import plot_model
from kgraph.runtime.data_adapters.py_dataset import PyDataset, Sequence


def set_random_seed(seed: int) -> None:
    """Seeds Python, NumPy and kgraph's own generator so CPU runs repeat exactly (weights, dropout, shuffling)."""
    set_seed(seed)


_SAVING_NAMES = ("CustomObjectScope", "custom_object_scope", "deserialize_keras_object", "get_custom_objects",
                 "get_registered_name", "get_registered_object", "register_keras_serializable",
                 "serialize_keras_object")


def __getattr__(name: str):
    """The serialization helpers Keras exposes under `keras.utils`, loaded on first use (no import cycle)."""
    if name in _SAVING_NAMES:
        import kgraph.saving

        return getattr(kgraph.saving, name)
    raise AttributeError(f"module 'kgraph.utils' has no attribute {name!r}")


__all__ = ["PyDataset", "Sequence", "plot_model", "set_random_seed", *_SAVING_NAMES]
