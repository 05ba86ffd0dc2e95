"""IndexLookup, the base of StringLookup and IntegerLookup: maps tokens to indices in a vocabulary, on the host.

As in Keras 3, the table is a TF lookup table and the vocabulary is an asset (`vocabulary.txt`) of saved files;
IntegerLookup's "int" mode also runs inside a compiled model (see `integer_lookup`).
"""

from __future__ import annotations

import collections
import os

import numpy as np

from kgraph import config
from kgraph.layers.layer import Layer
from kgraph.layers.preprocessing.host import from_tf, is_symbolic, is_tf_tensor, refuse_symbolic, tf_module, to_tf

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def encode_tf(tf, indices, output_mode: str, depth: int, dtype: str, count_weights=None):
    """Keras' `encode_categorical_inputs` on TF tensors (also ragged ones, for multi-hot and count): one-hot,
    multi-hot or count vectors of `depth`; indices outside [0, depth) count nowhere."""
    if indices.shape.rank == 0:
        indices = tf.expand_dims(indices, -1)
    if output_mode == "one_hot":
        if indices.shape.rank > 1 and indices.shape[-1] == 1:
            indices = tf.squeeze(indices, -1)
        return tf.one_hot(tf.cast(indices, "int32"), depth, dtype=dtype)
    if indices.shape.rank <= 2:
        weights = None if count_weights is None else tf.cast(count_weights, dtype)
        counts = tf.math.bincount(tf.cast(indices, "int32"), weights=weights, minlength=depth, maxlength=depth,
                                  axis=-1 if indices.shape.rank == 2 else None, dtype=dtype,
                                  binary_output=output_mode == "multi_hot")
        return tf.cast(counts, dtype)
    encoded = tf.one_hot(tf.cast(indices, "int32"), depth, dtype=dtype)
    if output_mode == "multi_hot":
        return tf.reduce_max(encoded, axis=1)
    if count_weights is not None:
        encoded = encoded * tf.expand_dims(tf.cast(count_weights, dtype), -1)
    return tf.reduce_sum(encoded, axis=1)


class IndexLookup(Layer):
    """Maps tokens to vocabulary indices: mask token first, then `num_oov_indices` OOV buckets, then the tokens
    (most frequent first when learned by `adapt`)."""

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary_dtype, vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", name=None, salt=None, **kwargs):
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(f"`num_oov_indices` must be greater than or equal to 0. Received: "
                             f"num_oov_indices={num_oov_indices}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"`oov_method` must be 'floormod' or 'farmhash'. Received: oov_method={oov_method!r}")
        if salt is not None:
            if vocabulary_dtype != "string" and oov_method != "farmhash":
                raise ValueError(f"`salt` can only be used when `oov_method='farmhash'`. Received: "
                                 f"oov_method={oov_method}")
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = list(salt)
            elif isinstance(salt, int):
                salt = [salt, salt]
            else:
                raise ValueError(f"The `salt` argument for `IndexLookup` can only be a tuple of 2 integers, or a "
                                 f"single integer. Received: salt={salt}.")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"`output_mode` must be one of {OUTPUT_MODES}. Received: output_mode={output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError(f"`output_mode` must be `'int'` when `invert` is true. Received: "
                             f"output_mode={output_mode}")
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"`idf_weights` should only be set if `output_mode` is `'tf_idf'`. Received: "
                             f"idf_weights={idf_weights} and output_mode={output_mode}")
        self._frozen_vocab_size = kwargs.pop("vocabulary_size", None)
        self._has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, **kwargs)
        self.invert, self.max_tokens, self.num_oov_indices = invert, max_tokens, num_oov_indices
        self.mask_token, self.oov_token, self.output_mode = mask_token, oov_token, output_mode
        self.sparse, self.pad_to_max_tokens = sparse, pad_to_max_tokens
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method, self.salt = oov_method, salt
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self.input_idf_weights = idf_weights
        self._key_dtype, self._value_dtype = ("int64", vocabulary_dtype) if invert else (vocabulary_dtype, "int64")
        if invert:
            self._default_value = oov_token
        else:
            self._default_value = self._oov_start_index() if num_oov_indices == 1 else -1
        self._tokens = np.array([], dtype=object if vocabulary_dtype == "string" else "int64")
        self._table = None
        self.idf_weights_const = None
        if output_mode == "tf_idf" and self._has_input_vocabulary and idf_weights is None:
            raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output mode, the `idf_weights` "
                             "argument must also be provided.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # --- vocabulary ----------------------------------------------------------------------------------
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The size of the vocabulary, with the mask and OOV indices."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary: index i holds the token that maps to i (mask and OOV tokens first unless excluded)."""
        vocab = [self.oov_token] * self._token_start_index() + [self._python(t) for t in self._tokens]
        if self.mask_token is not None and self.output_mode == "int":
            vocab[0] = self.mask_token
        return vocab if include_special_tokens else vocab[self._token_start_index():]

    def _python(self, token):
        return str(token) if self.vocabulary_dtype == "string" else int(token)

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Sets the vocabulary (a list, an array or a text file with one token a line) and, for "tf_idf", the
        inverse document frequencies."""
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise ValueError(f"`idf_weights` should only be set if output_mode is `'tf_idf'`. Received: "
                             f"output_mode={self.output_mode} and idf_weights={idf_weights}")
        if isinstance(vocabulary, str):
            if not os.path.exists(vocabulary):
                raise ValueError(f"Vocabulary file {vocabulary} does not exist.")
            if self.output_mode == "tf_idf":
                raise ValueError("output_mode `'tf_idf'` does not support loading a vocabulary from file.")
            with open(vocabulary, encoding="utf-8") as f:
                vocabulary = f.read().splitlines()
            if self.vocabulary_dtype != "string":
                vocabulary = [int(v) for v in vocabulary]
        vocabulary = np.asarray(vocabulary.numpy() if hasattr(vocabulary, "numpy") else vocabulary)
        if vocabulary.dtype.kind in "SU":
            vocabulary = np.array([v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in vocabulary],
                                  dtype=object)
        if vocabulary.size == 0:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        token_start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices
        found_special = list(vocabulary[:token_start]) == special
        tokens = vocabulary[token_start:] if found_special else vocabulary
        repeated = [t for t, c in collections.Counter(tokens.tolist()).items() if c > 1]
        if repeated:
            raise ValueError(f"The passed vocabulary has at least one repeated term. Please uniquify your dataset. "
                             f"The repeated terms are: {repeated}")
        for token, name in ((self.mask_token, "mask_token"), (self.oov_token if self.invert else None, "oov_token")):
            if token is not None and token in tokens.tolist():
                raise ValueError(f"Found reserved {'mask' if name == 'mask_token' else 'OOV'} token at unexpected "
                                 f"location in `vocabulary`. Either remove all mask and OOV tokens, or include them "
                                 f"only at the start of the vocabulary in precisely this order: {special}. "
                                 f"Received: {name}={token}")
        if self.max_tokens is not None and token_start + len(tokens) > self.max_tokens:
            raise ValueError(f"Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary "
                             f"size is {token_start + len(tokens)}; `max_tokens` is {self.max_tokens}.")
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            idf_weights = np.asarray(idf_weights, dtype=config.floatx())
            if len(vocabulary) != len(idf_weights):
                raise ValueError(f"`idf_weights` must be the same length as vocabulary. len(idf_weights) is "
                                 f"{len(idf_weights)}; len(vocabulary) is {len(vocabulary)}")
            front, front_value = (0, 0) if found_special else (token_start, np.average(idf_weights))
            back = self.max_tokens - front - len(idf_weights) if self.pad_to_max_tokens else 0
            self.idf_weights_const = np.pad(idf_weights, (front, back), constant_values=(front_value, 0))

    def _set_tokens(self, tokens) -> None:
        self._tokens = np.asarray(tokens, dtype=object if self.vocabulary_dtype == "string" else "int64")
        self._table = None
        if self.output_mode != "int" and not self.pad_to_max_tokens:
            if self._frozen_vocab_size is not None and self._frozen_vocab_size != self.vocabulary_size() \
                    and getattr(self, "_called", False):
                raise RuntimeError(f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, the "
                                   f"vocabulary size cannot be changed after the layer is called. Old vocab size is "
                                   f"{self._frozen_vocab_size}, new vocab size is {self.vocabulary_size()}")
        self._frozen_vocab_size = self.vocabulary_size()

    def _lookup_table(self, tf):
        if self._table is None:
            with tf.init_scope():
                self._table = self._new_table(tf)
        return self._table

    def _new_table(self, tf):
        """A TF table from the tokens, created outside any traced function so that tf.data maps share it."""
        start = self._token_start_index()
        indices = tf.range(start, start + len(self._tokens), dtype="int64")
        tokens = tf.constant(self._tokens.tolist() if len(self._tokens) else [],
                             dtype=self.vocabulary_dtype)
        keys, values = (indices, tokens) if self.invert else (tokens, indices)
        return tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, values, self._key_dtype, self._value_dtype),
            self._default_value)

    # --- adapt ---------------------------------------------------------------------------------------
    def adapt(self, data, steps: int | None = None) -> None:
        """Learns the vocabulary from `data` (an array, a list, a batched tf.data.Dataset or an iterable of batches):
        tokens by descending count, ties broken by descending token, cut at `max_tokens`.

        Args:
            data: the tokens to count.
            steps: how many batches of a dataset or iterable to read (all when None).
        """
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary via `vocabulary` "
                             "argument or `set_vocabulary()` method.")
        tf = tf_module()
        counts: collections.Counter = collections.Counter()
        documents: collections.Counter = collections.Counter()
        num_documents = 0
        whole = hasattr(data, "shape") or isinstance(data, (list, tuple))
        batches = [data] if whole else (b for i, b in enumerate(data) if steps is None or i < steps)
        for batch in batches:
            rows = self._rows(tf, batch, whole)
            counts.update(token for row in rows for token in row)
            if self.output_mode == "tf_idf":
                documents.update(token for row in rows for token in set(row))
                num_documents += len(rows)
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        if not counts:
            return
        ordered = sorted(counts.items(), key=lambda tc: (tc[1], tc[0]), reverse=True)
        if self.max_tokens:
            ordered = ordered[:self.max_tokens - self._token_start_index()]
        tokens = [t for t, _ in ordered]
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            idf = np.log(1 + num_documents / (1 + np.array([documents[t] for t in tokens], "float64")))
            idf = idf.astype(config.floatx())
            idf = np.pad(idf, (self._token_start_index(), 0), constant_values=idf.mean())
            if self.pad_to_max_tokens and self.max_tokens is not None:
                idf = np.pad(idf, (0, self.max_tokens - idf.size))
            self.idf_weights_const = idf

    def _rows(self, tf, batch, whole: bool) -> list[list]:
        """A batch of tokens as Python rows (documents); a vector is one document per token when it is the whole
        data and one document when it is a batch, as in Keras."""
        batch = batch if isinstance(batch, tf.RaggedTensor) else to_tf(batch, self.vocabulary_dtype)
        if isinstance(batch, tf.RaggedTensor):
            rows = [np.asarray(row, dtype=object).reshape(-1).tolist() for row in batch.to_list()]
        else:
            array = batch.numpy()
            if array.ndim == 0 or (array.ndim == 1 and not whole):
                array = array.reshape(1, -1)
            rows = array.reshape(array.shape[0], -1).tolist() if array.ndim else [[array.item()]]
        return [[self._python(t.decode("utf-8") if isinstance(t, bytes) else t) for t in row] for row in rows]

    # --- calling -------------------------------------------------------------------------------------
    def call(self, inputs):
        if is_symbolic(inputs):
            return self._symbolic_call(inputs)
        return from_tf(self.lookup_tf(inputs), inputs)

    def lookup_tf(self, inputs):
        """The layer's output for `inputs` as a TF tensor (ragged inputs give ragged "int" outputs)."""
        if self.output_mode != "int" and not self.pad_to_max_tokens and not len(self._tokens):
            raise RuntimeError(f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, you must "
                               "set the layer's vocabulary before calling it. Either pass a `vocabulary` argument to "
                               "the layer, or call `adapt` with some sample data.")
        self._called = True
        tf = tf_module()
        with tf.device("CPU:0"):
            x = inputs if isinstance(inputs, tf.RaggedTensor) else to_tf(inputs, self._key_dtype)
            if isinstance(x, tf.RaggedTensor):
                lookups = tf.ragged.map_flat_values(lambda values: self._lookup_dense(tf, values), x)
            else:
                lookups = self._lookup_dense(tf, x)
            if self.output_mode == "int":
                return lookups
            depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
            mode = "count" if self.output_mode == "tf_idf" else self.output_mode
            output = encode_tf(tf, lookups, mode, depth, config.floatx())
            if self.output_mode == "tf_idf":
                output = output * tf.constant(self.idf_weights_const, output.dtype)
            return output

    def _symbolic_call(self, inputs):
        refuse_symbolic(self, inputs, "its vocabulary lookup needs string tensors, which kgraph's IR cannot carry")

    def _lookup_dense(self, tf, inputs):
        lookups = self._lookup_table(tf).lookup(inputs)
        if self.mask_token is not None:
            mask_key, mask_value = (0, self.mask_token) if self.invert else (
                self.mask_token, 0 if self.output_mode == "int" else np.iinfo("int64").max)
            lookups = tf.where(tf.equal(inputs, tf.constant(mask_key, self._key_dtype)),
                               tf.constant(mask_value, self._value_dtype), lookups)
        if self.invert:
            return lookups
        if self.num_oov_indices == 0:
            missing = tf.gather_nd(inputs, tf.where(tf.equal(lookups, -1)))
            if tf.executing_eagerly() and int(tf.size(missing)):
                found = [self._python(v.decode("utf-8") if isinstance(v, bytes) else v) for v in missing.numpy()]
                raise ValueError(f"When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values "
                                 f"{found}, consider setting `num_oov_indices=1`.")
        elif self.num_oov_indices > 1:
            if self._key_dtype != "string" and self.oov_method != "farmhash":
                oov = tf.math.floormod(inputs, self.num_oov_indices)
            else:
                hashed = inputs if self._key_dtype == "string" else tf.strings.as_string(inputs)
                oov = tf.strings.to_hash_bucket_strong(hashed, self.num_oov_indices, self.salt) if self.salt \
                    else tf.strings.to_hash_bucket_fast(hashed, self.num_oov_indices)
            lookups = tf.where(tf.equal(lookups, self._default_value), oov + self._oov_start_index(), lookups)
        return lookups

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        input_shape = tuple(input_shape)
        if self.output_mode == "one_hot" and not (len(input_shape) > 1 and input_shape[-1] == 1):
            return input_shape + (depth,)
        return input_shape[:-1] + (depth,)

    # --- saving --------------------------------------------------------------------------------------
    def save_own_variables(self, store) -> None:
        if self.output_mode == "tf_idf":
            store["idf_weights"] = np.asarray(self.idf_weights_const)

    def load_own_variables(self, store) -> None:
        if self.output_mode == "tf_idf":
            self.idf_weights_const = np.asarray(store["idf_weights"])

    def save_assets(self, dir_path: str) -> None:
        """Writes the learned vocabulary to `dir_path/vocabulary.txt` (a vocabulary given as a list is in the config)."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(str(w) for w in self.get_vocabulary(include_special_tokens=True)))

    def load_assets(self, dir_path: str) -> None:
        """Reads the vocabulary written by `save_assets`."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        values = lines if self.vocabulary_dtype == "string" else [int(line) for line in lines]
        if self.output_mode == "tf_idf":
            self.set_vocabulary(values, idf_weights=self.idf_weights_const)
        else:
            self.set_vocabulary(values)

    def get_config(self) -> dict:
        def listify(x):
            return x.tolist() if hasattr(x, "tolist") else x

        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token, "mask_token": self.mask_token,
                "output_mode": self.output_mode, "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary_dtype": self.vocabulary_dtype, "idf_weights": listify(self.input_idf_weights),
                "vocabulary": listify(self.input_vocabulary), "vocabulary_size": self._frozen_vocab_size,
                "oov_method": self.oov_method, "salt": self.salt}
