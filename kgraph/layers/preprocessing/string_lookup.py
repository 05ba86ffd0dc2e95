"""StringLookup: strings to vocabulary indices (or back, with `invert`), on the host."""

from __future__ import annotations

from kgraph.layers.preprocessing.index_lookup import IndexLookup


class StringLookup(IndexLookup):
    """Maps strings to integer indices in a vocabulary given or learned by `adapt`, as Keras 3 does.

    Args:
        max_tokens: the largest vocabulary size, with the mask and OOV indices (None: no limit).
        num_oov_indices: how many indices out-of-vocabulary strings hash into.
        mask_token: the string that maps to index 0 (None: no mask).
        oov_token: the token `invert=True` returns for OOV indices.
        vocabulary: a list, array or text file (one token a line).
        idf_weights: inverse document frequencies, for `output_mode="tf_idf"`.
        invert: map indices back to strings.
        output_mode: "int", "one_hot", "multi_hot", "count" or "tf_idf".
        pad_to_max_tokens: pad encoded outputs to `max_tokens` wide.
        encoding: the text encoding of the strings.
        salt: a salt for hashing OOV strings (`to_hash_bucket_strong`).
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", name=None, salt=None, **kwargs):
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, vocabulary_dtype="string", **kwargs)

    def get_config(self) -> dict:
        config = {**super().get_config(), "encoding": self.encoding}
        del config["vocabulary_dtype"]
        return config
