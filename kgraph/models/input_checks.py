"""Checks of what users pass to fit/evaluate/predict, where it enters: clear errors naming the argument, and
Keras' conversions (Python lists of numbers become arrays)."""

from __future__ import annotations

import numpy as np

from kgraph import tree
from kgraph.ir.types import numpy_dtype
from kgraph.runtime.data_adapters import is_array_data

VALIDATION_FORMS = "a tuple (x_val, y_val) or (x_val, y_val, val_sample_weight) of arrays, or a dataset"


def _is_number_list(data) -> bool:
    """A (nested) list of Python numbers, which Keras users pass as labels: `[0, 2, 1]`, `[[0.5, 1.0]]`."""
    if not isinstance(data, list) or not data:
        return False
    return all(isinstance(v, (int, float, bool, np.generic)) or _is_number_list(v) for v in data)


def numbers_to_array(data):
    """`data` as a NumPy array when it is a list of Python numbers; anything else unchanged."""
    return np.asarray(data) if _is_number_list(data) else data


def has_no_rows(x) -> bool:
    """True when `x` is in-memory data whose arrays all have 0 samples."""
    if x is None or not is_array_data(x):
        return False
    leaves = [np.shape(a) for a in tree.flatten(numbers_to_array(x)) if a is not None]
    return bool(leaves) and all(len(s) > 0 and s[0] == 0 for s in leaves)


def empty_outputs(program):
    """What `predict` returns for 0 samples: arrays of 0 rows shaped (and typed) like the model's outputs."""
    arrays = [np.zeros((0,) + tuple(d or 0 for d in v.type.keras_shape()[1:]), numpy_dtype(v.type.dtype))
              for v in program.graph.outputs]
    return tree.pack_like(program.output_structure, arrays)


def _describe(value) -> str:
    if hasattr(value, "shape"):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {len(value)} items"
    return type(value).__name__


def validation_tuple(data, needs_targets: bool):
    """`validation_data` as the tuple fit unpacks, or a ValueError naming it; datasets pass through unchanged.

    As in Keras, a list `[x_val, y_val]` is read as the tuple.
    """
    if not is_array_data(data):
        return data
    if not isinstance(data, (list, tuple)) or len(data) not in (2, 3):
        raise ValueError(f"`validation_data` must be {VALIDATION_FORMS}; got a {_describe(data)}")
    if data[0] is None:
        raise ValueError(f"`validation_data` must be {VALIDATION_FORMS}; its x_val is None")
    if data[1] is None and needs_targets:
        raise ValueError(f"`validation_data` must be {VALIDATION_FORMS}; its y_val is None, but the compiled loss "
                         "needs targets")
    return tuple(data)


def loss_shape_error(output: str, loss, y_true, y_pred, sample_weight, error: Exception) -> ValueError | None:
    """The error naming the targets or sample weights of `output` whose shape made its loss fail, or None when
    the shapes are consistent (the failure is the loss's own)."""
    if type(error) not in (TypeError, ValueError):
        return None
    name = getattr(loss, "name", None) or type(loss).__name__
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    if true_shape != pred_shape:
        return ValueError(f"Targets for output {output!r} have shape {true_shape}, which loss {name!r} cannot pair "
                          f"with the output's shape {pred_shape} ({type(error).__name__}: {error}). Pass `y` shaped "
                          "like the output (or integer labels for a sparse loss).")
    if sample_weight is not None and tuple(sample_weight.shape) not in (pred_shape[:1], pred_shape[:1] + (1,)):
        return ValueError(f"`sample_weight` for output {output!r} has shape {tuple(sample_weight.shape)}, which loss "
                          f"{name!r} cannot apply to outputs of shape {pred_shape}; pass one weight per sample, shape "
                          f"{pred_shape[:1]} ({type(error).__name__}: {error})")
    return None


def check_fit_arguments(epochs, initial_epoch, validation_freq) -> None:
    """Refuses fit arguments of the wrong type or range before any work is done.

    As in Keras, `epochs <= initial_epoch` is no error: fit runs no epoch and returns an empty History.
    """
    for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"`{name}` must be an integer, got {value!r} of type {type(value).__name__}")
    if initial_epoch < 0:
        raise ValueError(f"`initial_epoch` must be a non-negative integer, got {initial_epoch}")
    if isinstance(validation_freq, (int, np.integer)) and not isinstance(validation_freq, bool):
        if validation_freq < 1:
            raise ValueError(f"`validation_freq` must be a positive integer or a collection of epoch numbers, "
                             f"got {validation_freq}")
    elif not isinstance(validation_freq, (list, tuple, set, range)):
        raise TypeError(f"`validation_freq` must be a positive integer or a collection of epoch numbers, "
                        f"got {validation_freq!r} of type {type(validation_freq).__name__}")
