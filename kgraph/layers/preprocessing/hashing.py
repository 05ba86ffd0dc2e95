"""Hashing and HashedCrossing: FarmHash (or salted SipHash) of values' strings into bins, on the host.

Keras 3 computes these with TF string ops whatever the backend; so does kgraph, for identical bins.
"""

from __future__ import annotations

from kgraph import config
from kgraph.layers.layer import Layer
from kgraph.layers.preprocessing.host import from_tf, refuse_symbolic, tf_module, to_tf
from kgraph.layers.preprocessing.index_lookup import encode_tf

_WHY = "it hashes the decimal strings of its inputs, and kgraph's IR carries no strings"


def _salt(salt, layer: str):
    if salt is None:
        return None
    if isinstance(salt, (tuple, list)) and len(salt) == 2:
        return list(salt)
    if isinstance(salt, int):
        return [salt, salt]
    raise ValueError(f"The `salt` argument for `{layer}` can only be a tuple of size 2 integers, or a single "
                     f"integer. Received: salt={salt}.")


class Hashing(Layer):
    """Hashes values (strings, or numbers as their decimal strings) into `num_bins` bins.

    Args:
        num_bins: the number of bins, including the mask bin when `mask_value` is set.
        mask_value: a value that maps to bin 0 (the others hash into bins 1 … num_bins - 1).
        salt: an int or a pair of ints; with it the hash is SipHash keyed by the salt, else FarmHash64.
        output_mode: "int", "one_hot", "multi_hot" or "count".
    """

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else config.floatx()
        super().__init__(**kwargs)
        if num_bins is None or num_bins <= 0:
            raise ValueError(f"The `num_bins` for `Hashing` cannot be `None` or non-positive values. Received: "
                             f"num_bins={num_bins}.")
        if output_mode == "int" and self.dtype_policy.name not in ("int32", "int64"):
            raise ValueError(f'When `output_mode="int"`, `dtype` should be an integer type, \'int32\' or \'in64\'. '
                             f"Received: dtype={kwargs['dtype']}")
        modes = ("int", "one_hot", "multi_hot", "count")
        if output_mode not in modes:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of {modes}. Received: "
                             f"output_mode={output_mode}")
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        self.num_bins = num_bins
        self.mask_value = mask_value
        self.strong_hash = salt is not None
        self.output_mode = output_mode
        self.sparse = sparse
        self.salt = _salt(salt, "Hashing")
        self.built = True

    def call(self, inputs):
        refuse_symbolic(self, inputs, _WHY)
        tf = tf_module()
        with tf.device("CPU:0"):
            x = to_tf(inputs)
            if self.output_mode == "one_hot" and x.shape.rank and x.shape[-1] == 1:
                x = tf.squeeze(x, -1)
            indices = self._hash_values_to_bins(tf, x)
            if self.output_mode == "int":
                return from_tf(tf.cast(indices, self.dtype), inputs)
            return from_tf(encode_tf(tf, indices, self.output_mode, self.num_bins, self.dtype), inputs)

    def _hash_values_to_bins(self, tf, values):
        bins, mask = self.num_bins, None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = tf.equal(values, tf.constant(self.mask_value, values.dtype))
        if values.dtype.is_floating:
            values = tf.cast(values, "int64")
        if values.dtype != tf.string:
            values = tf.strings.as_string(values)
        if self.strong_hash:
            values = tf.strings.to_hash_bucket_strong(values, bins, key=self.salt)
        else:
            values = tf.strings.to_hash_bucket_fast(values, bins)
        if mask is not None:
            values = tf.where(mask, tf.zeros_like(values), values + 1)
        return values

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return tuple(input_shape[:-1]) + (self.num_bins,) if len(input_shape) else (self.num_bins,)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                "output_mode": self.output_mode, "sparse": self.sparse}


class HashedCrossing(Layer):
    """Crosses two or more categorical features (ints or strings) by hashing their combination into `num_bins`.

    Args:
        num_bins: the number of hash bins.
        output_mode: "int" or "one_hot".
    """

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None, **kwargs):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"The `output_mode` argument value is invalid. Expected one of ('int', 'one_hot'). "
                             f"Received: output_mode={output_mode}")
        self.num_bins = num_bins
        self.output_mode = output_mode
        self.sparse = sparse
        self.built = True

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"`HashedCrossing` should be called on a list or tuple of inputs. Received: "
                             f"inputs={inputs}")
        if len(inputs) < 2:
            raise ValueError(f"`HashedCrossing` should be called on at least two inputs. Received: inputs={inputs}")
        for x in inputs:
            refuse_symbolic(self, x, "tf.sparse.cross_hashed hashes its inputs' strings, which kgraph's IR cannot carry")
        tf = tf_module()
        with tf.device("CPU:0"):
            tensors = [to_tf(x) for x in inputs]
            shape = tuple(tensors[0].shape)
            if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
                raise ValueError(f"All `HashedCrossing` inputs should have shape `()`, `(batch_size)` or "
                                 f"`(batch_size, 1)`. Received: shapes {[tuple(t.shape) for t in tensors]}")
            if any(tuple(t.shape) != shape for t in tensors[1:]):
                raise ValueError(f"All `HashedCrossing` inputs should have equal shape. Received: shapes "
                                 f"{[tuple(t.shape) for t in tensors]}")
            if not all(t.dtype.is_integer or t.dtype == tf.string for t in tensors):
                raise ValueError(f"All `HashedCrossing` inputs should have an integer or string dtype. Received: "
                                 f"dtypes {[t.dtype.name for t in tensors]}")
            for _ in range(2 - max(len(shape), 0)):
                tensors = [tf.expand_dims(t, -1) for t in tensors]
            outputs = tf.sparse.to_dense(tf.sparse.cross_hashed(tensors, self.num_bins))
            if len(shape) == 1:
                outputs = tf.squeeze(outputs, axis=1)
            elif len(shape) == 0:
                outputs = tf.reshape(outputs, [])
            if self.output_mode == "one_hot":
                outputs = encode_tf(tf, outputs, "one_hot", self.num_bins, self.compute_dtype)
            return from_tf(tf.cast(outputs, self.dtype), inputs[0])

    def get_config(self) -> dict:
        return {"num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": self.sparse, "name": self.name,
                "dtype": self.dtype}
