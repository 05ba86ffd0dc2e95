"""`kgraph.utils`: the helpers Keras exposes under `keras.utils` — data, files, images, seeds, serialization."""

from kgraph.backend import clear_session, is_keras_tensor, standardize_dtype
from kgraph.config import disable_interactive_logging, enable_interactive_logging, is_interactive_logging_enabled
from kgraph.random import set_seed
from kgraph.runtime.data_adapters.base import unpack_x_y_sample_weight
from kgraph.runtime.data_adapters.py_dataset import PyDataset, Sequence
from kgraph.runtime.progbar import Progbar
from kgraph.utils.audio_dataset import audio_dataset_from_directory
from kgraph.utils.config import Config
from kgraph.utils.dataset_utils import (
    image_dataset_from_directory, split_dataset, text_dataset_from_directory, timeseries_dataset_from_array,
)
from kgraph.utils.feature_space import FeatureSpace
from kgraph.utils.file_utils import get_file
from kgraph.utils.graph_utils import get_source_inputs
from kgraph.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from kgraph.utils.numerical_utils import normalize, to_categorical
from kgraph.utils.plot_model import model_to_dot, plot_model
from kgraph.utils.sequence_utils import pad_sequences
from kgraph.utils import bounding_boxes
import kgraph.saving


def set_random_seed(seed: int) -> None:
    """Seeds Python, NumPy and kgraph's own generator so CPU runs repeat exactly (weights, dropout, shuffling)."""
    set_seed(seed)


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The tuple `fit` unpacks: `x` alone (or `(x,)` when x is itself a list/tuple), `(x, y)` or `(x, y, sw)`."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


_SAVING_NAMES = ("CustomObjectScope", "custom_object_scope", "deserialize_keras_object", "get_custom_objects",
                 "get_registered_name", "get_registered_object", "register_keras_serializable",
                 "serialize_keras_object")


def __getattr__(name: str):
    """The serialization helpers Keras exposes under `keras.utils`, loaded on first use (no import cycle)."""
    if name in _SAVING_NAMES:
        return getattr(kgraph.saving, name)
    raise AttributeError(f"module 'kgraph.utils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Config", "FeatureSpace", "Progbar", "PyDataset", "Sequence", "array_to_img", "audio_dataset_from_directory",
    "bounding_boxes", "clear_session", "disable_interactive_logging",
    "enable_interactive_logging", "get_file", "get_source_inputs", "image_dataset_from_directory", "img_to_array",
    "is_interactive_logging_enabled", "is_keras_tensor", "load_img", "normalize", "pack_x_y_sample_weight",
    "model_to_dot", "pad_sequences", "plot_model", "save_img", "set_random_seed", "split_dataset", "standardize_dtype",
    "text_dataset_from_directory", "timeseries_dataset_from_array", "to_categorical", "unpack_x_y_sample_weight",
    *_SAVING_NAMES,
]
