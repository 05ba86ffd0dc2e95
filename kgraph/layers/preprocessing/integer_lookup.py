"""IntegerLookup: integers to vocabulary indices (or back), on the host and inside compiled models."""

from __future__ import annotations

import numpy as np

from kgraph import config, ops
from kgraph.layers.preprocessing.encoding import encode_categorical
from kgraph.layers.preprocessing.host import refuse_symbolic
from kgraph.layers.preprocessing.index_lookup import IndexLookup


class IntegerLookup(IndexLookup):
    """Maps integers to indices in a vocabulary given or learned by `adapt`, as Keras 3 does.

    Unlike Keras on JAX, the lookup also runs inside a compiled model (and its ONNX export): the vocabulary
    becomes a constant the inputs are compared with. Only `oov_method="farmhash"` stays on the host.

    Args:
        max_tokens: the largest vocabulary size, with the mask and OOV indices (None: no limit).
        num_oov_indices: how many indices out-of-vocabulary integers map into (`oov_method` picks which).
        mask_token: the integer that maps to index 0 (None: no mask).
        oov_token: the value `invert=True` returns for OOV indices.
        vocabulary: a list, array or text file (one integer a line).
        vocabulary_dtype: "int64", the only one Keras supports.
        idf_weights: inverse document frequencies, for `output_mode="tf_idf"`.
        invert: map indices back to integers.
        output_mode: "int", "one_hot", "multi_hot", "count" or "tf_idf".
        pad_to_max_tokens: pad encoded outputs to `max_tokens` wide.
        oov_method: "floormod" (`token % num_oov_indices`) or "farmhash".
        salt: a salt for farmhash (`to_hash_bucket_strong`).
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, oov_method="floormod", salt=None, name=None, **kwargs):
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If `max_tokens` is set for `IntegerLookup`, it must be greater than 1. Received: "
                             f"max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(f"The value of `num_oov_indices` argument for `IntegerLookup` must >= 0. Received: "
                             f"num_oov_indices={num_oov_indices}")
        if vocabulary_dtype != "int64":
            raise ValueError(f"Only `vocabulary_dtype='int64'` is supported at this time. Received: "
                             f"vocabulary_dtype={vocabulary_dtype}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, vocabulary_dtype=vocabulary_dtype,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method, salt=salt, name=name, **kwargs)

    def _symbolic_call(self, inputs):
        """The lookup as IR ops: compare with the vocabulary constant, then the OOV and mask rules."""
        if self.num_oov_indices > 1 and self.oov_method == "farmhash":
            refuse_symbolic(self, inputs, "oov_method='farmhash' hashes the integers' decimal strings")
        if not len(self._tokens):
            raise RuntimeError(f"Layer {self.name!r} (IntegerLookup) needs a vocabulary before it is called inside a "
                               "model: pass `vocabulary` or call `adapt` first")
        x = ops.cast(inputs, "int32")
        if self.invert:
            table = np.array([self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices
                             + self._tokens.tolist(), "int32")
            inside = ops.logical_and(ops.greater_equal(x, 0), ops.less(x, len(table)))
            found = ops.take(table, ops.clip(x, 0, len(table) - 1))
            return ops.where(inside, found, np.int32(self.oov_token))
        hits = ops.equal(ops.expand_dims(x, -1), self._tokens.astype("int32"))
        index = ops.add(ops.cast(ops.argmax(ops.cast(hits, "int32"), axis=-1), "int32"), self._token_start_index())
        if self.num_oov_indices > 1:
            oov = ops.add(ops.mod(x, self.num_oov_indices), self._oov_start_index())
        else:
            oov = ops.full_like(x, self._default_value)
        lookups = ops.where(ops.greater(ops.max(ops.cast(hits, "int32"), axis=-1), 0), index, oov)
        if self.mask_token is not None:
            mask_value = 0 if self.output_mode == "int" else np.iinfo("int32").max
            lookups = ops.where(ops.equal(x, self.mask_token), mask_value, lookups)
        if self.output_mode == "int":
            return lookups
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        encoded = encode_categorical(lookups, mode, depth, config.floatx())
        if self.output_mode == "tf_idf":
            encoded = ops.multiply(encoded, np.asarray(self.idf_weights_const, config.floatx()))
        return encoded

    def get_config(self) -> dict:
        config_dict = super().get_config()
        for key in ("oov_token", "mask_token"):
            if config_dict[key] is not None:
                config_dict[key] = int(config_dict[key])
        if config_dict["vocabulary"] is not None:
            config_dict["vocabulary"] = [int(v) for v in config_dict["vocabulary"]]
        return config_dict
