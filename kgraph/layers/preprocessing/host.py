"""What the host-side preprocessing layers share: TensorFlow (loaded on first use, as Keras 3 runs these layers
on TF ops whatever the backend), the conversion of their outputs, and the refusal of symbolic string work."""

from __future__ import annotations

import numpy as np

from kgraph.keras_tensor import KerasTensor
from kgraph.tracing import SymbolicTensor
import jax.numpy as jnp


def tf_module():
    """The `tensorflow` module; an ImportError saying which layers need it when it is not installed."""
    try:
        import tensorflow as tf  # optional: TensorFlow only for the string/lookup layers
    except ImportError:
        raise ImportError("kgraph's lookup, hashing and text preprocessing layers run on TensorFlow ops, as Keras 3's "
                          "do: install it with `pip install tensorflow-cpu`") from None
    return tf


def is_symbolic(x) -> bool:
    return isinstance(x, (KerasTensor, SymbolicTensor))


def is_tf_tensor(x) -> bool:
    """True for a TF tensor, found by its class's module so that TensorFlow is never imported here."""
    return any(c.__module__.startswith("tensorflow") for c in type(x).__mro__)


def refuse_symbolic(layer, inputs, why: str) -> None:
    """Raises a clear error when `layer` is applied to a symbolic tensor that kgraph's IR cannot compute on."""
    if is_symbolic(inputs):
        raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}) runs on the host, not inside a compiled "
                         f"model: {why}. Apply it in the input pipeline instead (tf.data `map`, a PyDataset, or "
                         f"on arrays before `fit`/`predict`). Got a symbolic input of shape {tuple(inputs.shape)}.")


def from_tf(outputs, inputs):
    """Outputs for the caller: TF tensors inside a tf.data pipeline (graph mode), otherwise JAX arrays, or NumPy
    arrays of Python strings for string outputs."""
    if not hasattr(outputs, "numpy"):
        return outputs
    array = outputs.numpy()
    if array.dtype.kind in "OS":
        return np.vectorize(lambda v: v.decode("utf-8"), otypes=[object])(array) if array.size else array.astype(object)

    return jnp.asarray(array)


def to_tf(inputs, dtype: str | None = None):
    """`inputs` (lists, NumPy, JAX or TF tensors) as a TF tensor of `dtype`; strings stay strings."""
    tf = tf_module()
    if is_tf_tensor(inputs):
        if dtype is not None and inputs.dtype != tf.as_dtype(dtype):
            return tf.cast(inputs, dtype) if dtype != "string" else tf.strings.as_string(inputs)
        return inputs
    array = np.asarray(inputs)
    if array.dtype.kind in "OSU":
        return tf.convert_to_tensor(array.astype(object) if array.dtype.kind == "U" else array, dtype=tf.string)
    if dtype == "string":
        return tf.strings.as_string(tf.convert_to_tensor(array))
    return tf.convert_to_tensor(array, dtype=dtype)
