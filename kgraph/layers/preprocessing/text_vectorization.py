"""TextVectorization: strings to token indices or token-count vectors, on the host as Keras 3 runs it."""

from __future__ import annotations

import numpy as np

from kgraph.layers.layer import Layer
from kgraph.layers.preprocessing.host import from_tf, is_tf_tensor, refuse_symbolic, tf_module, to_tf
from kgraph.layers.preprocessing.string_lookup import StringLookup

_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


def _check_choice(value, allowed: tuple, name: str) -> None:
    if value is not None and not callable(value) and value not in allowed:
        raise ValueError(f"Unkown value for `{name}` argument of layer TextVectorization. If restricted to one "
                         f"of {allowed}, None or a callable. Received: {name}={value!r}")


class TextVectorization(Layer):
    """Standardizes, splits and n-grams strings, then maps the tokens to indices of a vocabulary.

    Args:
        max_tokens: the largest vocabulary, with the padding ("") and OOV tokens.
        standardize: "lower_and_strip_punctuation", "lower", "strip_punctuation", None or a callable.
        split: "whitespace", "character", None or a callable.
        ngrams: None, an int (all n-grams up to it) or a tuple of widths.
        output_mode: "int", "multi_hot", "count" or "tf_idf".
        output_sequence_length: in "int" mode, pad or cut each sequence to this length.
        pad_to_max_tokens: pad encoded outputs to `max_tokens` wide.
        vocabulary: a list, array or text file (one token a line).
        idf_weights: inverse document frequencies, for "tf_idf".
        encoding: the text encoding of the strings.
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None, **kwargs):
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        if ragged:
            raise ValueError("`ragged=True` can only be used with the TensorFlow backend.")
        _check_choice(standardize, ("lower_and_strip_punctuation", "lower", "strip_punctuation"), "standardize")
        _check_choice(split, ("whitespace", "character"), "split")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in ("int", "one_hot", "multi_hot", "count", "tf_idf"):
            raise ValueError(f"Unknown value for `output_mode` argument of layer TextVectorization. Received: "
                             f"output_mode={output_mode!r}")
        if not (ngrams is None or isinstance(ngrams, int)
                or isinstance(ngrams, tuple) and all(isinstance(n, int) for n in ngrams)):
            raise ValueError(f"`ngrams` must be None, an integer, or a tuple of integers. Received: ngrams={ngrams}")
        if output_mode == "int" and not (output_sequence_length is None or isinstance(output_sequence_length, int)):
            raise ValueError(f"`output_sequence_length` must be either None or an integer when `output_mode` is "
                             f"'int'. Received: output_sequence_length={output_sequence_length}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(f"`output_sequence_length` must not be set if `output_mode` is not 'int'. Received "
                             f"output_sequence_length={output_sequence_length}.")
        self._standardize, self._split, self._ngrams_arg = standardize, split, ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._ragged, self._output_mode = ragged, output_mode
        self._output_sequence_length, self._encoding = output_sequence_length, encoding
        has_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        self._lookup_layer = StringLookup(max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
                                          pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
                                          has_input_vocabulary=has_vocabulary, encoding=encoding,
                                          vocabulary_size=vocabulary_size)
        self.built = True

    def build(self, input_shape=None) -> None:
        self.built = True

    def adapt(self, data, batch_size=None, steps: int | None = None) -> None:
        """Learns the vocabulary from `data` (strings: an array, a list, a tf.data.Dataset or batches).

        Args:
            data: the texts.
            steps: how many batches of a dataset or iterable to read (all when None).
        """
        whole = hasattr(data, "shape") or isinstance(data, (list, tuple))
        if whole:
            tf = tf_module()
            data = to_tf(data, "string")
            batches = [tf.expand_dims(data, -1) if data.shape.rank == 1 else data]
        else:
            batches = (b for i, b in enumerate(data) if steps is None or i < steps)
        self._lookup_layer.adapt(self._preprocess(b) for b in batches)

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary: index i holds the token that maps to i ("" and "[UNK]" first unless excluded)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Sets the vocabulary (and, for "tf_idf", the inverse document frequencies) directly."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    def _preprocess(self, inputs):
        tf = tf_module()
        with tf.device("CPU:0"):
            x = to_tf(inputs, "string")
            if self._standardize in ("lower", "lower_and_strip_punctuation"):
                x = tf.strings.lower(x)
            if self._standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
                x = tf.strings.regex_replace(x, _PUNCTUATION, "")
            if callable(self._standardize):
                x = self._standardize(x)
            if self._split is not None:
                if x.shape.rank > 1:
                    if x.shape[-1] != 1:
                        raise ValueError("When using `TextVectorization` to tokenize strings, the input rank must be "
                                         f"1 or the last shape dimension must be 1. Received: inputs.shape={x.shape} "
                                         f"with rank={x.shape.rank}")
                    x = tf.squeeze(x, axis=-1)
                if self._split == "whitespace":
                    x = tf.strings.split(x)
                elif self._split == "character":
                    x = tf.strings.unicode_split(x, "UTF-8")
                else:
                    x = self._split(x)
            if self._ngrams is not None:
                x = tf.strings.ngrams(x, ngram_width=self._ngrams, separator=" ")
            return x

    def call(self, inputs):
        refuse_symbolic(self, inputs, "it splits and looks up strings, which kgraph's IR cannot carry")
        tf = tf_module()
        with tf.device("CPU:0"):
            tokens = self._preprocess(inputs)
            lookups = self._lookup_layer.lookup_tf(tokens)
            if self._output_mode != "int":
                return from_tf(lookups, inputs)
            if isinstance(lookups, tf.RaggedTensor):
                shape = lookups.shape.as_list()
                shape[-1] = self._output_sequence_length
                outputs = lookups.to_tensor(default_value=0, shape=shape)
            elif self._output_sequence_length is not None:
                outputs = lookups[..., :self._output_sequence_length]
                pad = self._output_sequence_length - tf.shape(outputs)[-1]
                rank = outputs.shape.rank
                outputs = tf.pad(outputs, [[0, 0]] * (rank - 1) + [[0, pad]])
            else:
                outputs = lookups
            return from_tf(outputs, inputs)

    def compute_output_shape(self, input_shape):
        if self._output_mode == "int":
            return (input_shape[0], self._output_sequence_length)
        if self._split is None:
            input_shape = tuple(input_shape) + (1,) if len(input_shape) <= 1 else tuple(input_shape)
        else:
            input_shape = tuple(input_shape) + (None,)
        return self._lookup_layer.compute_output_shape(input_shape)

    def save_own_variables(self, store) -> None:
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store) -> None:
        self._lookup_layer.load_own_variables(store)

    def save_assets(self, dir_path: str) -> None:
        """Writes the vocabulary to `dir_path/vocabulary.txt`."""
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path: str) -> None:
        """Reads the vocabulary written by `save_assets`."""
        self._lookup_layer.load_assets(dir_path)

    def get_config(self) -> dict:
        lookup = self._lookup_layer

        def listify(x):
            return x.tolist() if hasattr(x, "tolist") else x

        return {**super().get_config(), "max_tokens": lookup.max_tokens, "standardize": self._standardize,
                "split": self._split, "ngrams": self._ngrams_arg, "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length, "pad_to_max_tokens": lookup.pad_to_max_tokens,
                "sparse": lookup.sparse, "ragged": self._ragged, "vocabulary": listify(lookup.input_vocabulary),
                "idf_weights": listify(lookup.input_idf_weights), "encoding": self._encoding,
                "vocabulary_size": self.vocabulary_size()}

    @classmethod
    def from_config(cls, config: dict) -> "TextVectorization":
        config = dict(config)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)
