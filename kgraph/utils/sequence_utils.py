"""`pad_sequences`: a list of variable-length sequences as one padded array."""

from __future__ import annotations

import numpy as np


def pad_sequences(sequences, maxlen: int | None = None, dtype="int32", padding: str = "pre",
                  truncating: str = "pre", value=0.0) -> np.ndarray:
    """Pads (or truncates) every sequence to the same length, as `keras.utils.pad_sequences` does.

    Args:
        sequences: a list of sequences (lists or arrays; their items may themselves be arrays).
        maxlen: the output length; the longest sequence's length when None.
        dtype: the output dtype (a string dtype such as "str" or object for text).
        padding: "pre" or "post": where the padding goes.
        truncating: "pre" or "post": which end of a too-long sequence is cut.
        value: the padding value.
    """
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood; expected "pre" or "post"')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood; expected "pre" or "post"')
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"`sequences` must be iterable. Received: sequences of type {type(sequences).__name__}")
    lengths, sample_shape, first = [], (), True
    for position, x in enumerate(sequences):
        try:
            lengths.append(len(x))
            if first and len(x):
                sample_shape, first = np.asarray(x).shape[1:], False
        except TypeError as e:
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable {x!r} of type "
                             f"{type(x).__name__} at position {position}") from e
    maxlen = int(np.max(lengths)) if maxlen is None and lengths else (maxlen or 0)
    is_text = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.object_)
    if isinstance(value, str) and dtype is not object and not is_text:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type {type(value)}; "
                         "use dtype=object for variable-length strings.")
    out = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    for idx, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {trunc.shape[1:]} of sequence at position {idx} is different "
                             f"from expected shape {sample_shape}")
        if padding == "post":
            out[idx, :len(trunc)] = trunc
        else:
            out[idx, -len(trunc):] = trunc
    return out
