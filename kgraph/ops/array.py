"""Array ops in NumPy's shape: indexing, slicing, padding, tiling, repeating, einsum, stacking and splitting.

Each works on symbolic tensors, concrete arrays and inside compiled steps alike. Sizes, indices given as Python
ints and pad widths are static; a dim unknown until run time (None) is kept where an op leaves it alone.
"""

from __future__ import annotations

import builtins
from typing import Sequence

import numpy as np

from kgraph.ir.ops.array import PAD_MODES
from kgraph.ir.types import canonical_dtype, is_int
from kgraph.ops.dispatch import apply, check_not_string, convert, dtype_of, is_symbolic, promote, unwrap
from kgraph.ops.numpy import concatenate, expand_dims, reshape
from kgraph.ops.numpy import shape as static_shape
from kgraph.tracing import SymbolicDim, SymbolicTensor, merge_dims, symbolic_shape
from kgraph import config

__all__ = [
    "broadcast_to", "cumsum", "einsum", "get_item", "pad", "repeat", "slice", "split", "stack", "strided_slice",
    "take", "take_along_axis", "tile",
]


def _tensor(x):
    """`x` as a tensor; Python numbers and lists become floatx or int32 as in Keras, NumPy values keep their dtype."""
    x = unwrap(x)
    check_not_string(x)
    if is_symbolic(x) or hasattr(x, "dtype"):
        return x
    kind = np.asarray(x).dtype.kind
    return convert(x, config.floatx() if kind == "f" else "int32" if kind in "iu" else "bool")


def _indices(indices):
    """Integer indices stay as they are; anything else is cast to int32, as Keras does."""
    indices = _tensor(indices)
    return indices if is_int(dtype_of(indices)) else convert(indices, "int32")


def _flat(x):
    return reshape(x, (-1,))


def _axis(axis: int, rank: int, name: str) -> int:
    if not -rank <= axis < rank:
        raise ValueError(f"{name}: axis {axis} is out of range for a tensor of rank {rank}")
    return axis % rank


def take(x, indices, axis=None):
    """Slices of `x` along `axis` at integer `indices` (negative counts from the end); axis None flattens x."""
    x = _tensor(x)
    if axis is None:
        return apply("take", _flat(x), _indices(indices), axis=0)
    return apply("take", x, _indices(indices), axis=int(axis))


def take_along_axis(x, indices, axis=None):
    """Elements of `x` at `indices` along `axis`, other dims broadcast between the two; axis None flattens both."""
    x, indices = _tensor(x), _indices(indices)
    if axis is None:
        return apply("take_along_axis", _flat(x), _flat(indices), axis=0)
    x_shape, i_shape = static_shape(x), static_shape(indices)
    if len(x_shape) != len(i_shape):
        raise ValueError(f"take_along_axis: x and indices need the same rank, got shapes {x_shape} and {i_shape}")
    a = _axis(int(axis), len(x_shape), "take_along_axis")
    x_target, i_target = [None] * len(x_shape), [None] * len(x_shape)
    for i, (d, k) in enumerate(zip(x_shape, i_shape)):
        if i == a or d == k or None in (d, k) and 1 not in (d, k):
            continue
        if d == 1 and k is not None:
            x_target[i] = k
        elif k == 1 and d is not None:
            i_target[i] = d
        else:
            raise ValueError(f"take_along_axis on axis {a}: shapes {x_shape} and {i_shape} do not broadcast "
                             f"on axis {i}")
    if any(d is not None for d in x_target):
        x = broadcast_to(x, x_target)
    if any(d is not None for d in i_target):
        indices = broadcast_to(indices, i_target)
    return apply("take_along_axis", x, indices, axis=a)


def _slice_op(x, starts: Sequence, stops: Sequence, steps: Sequence):
    return apply("slice", x, starts=tuple(starts), stops=tuple(stops), steps=tuple(steps))


def slice(inputs, start_indices, shape):
    """The block of `inputs` starting at `start_indices` (ints) with size `shape` (-1: to the end), as Keras."""
    inputs = _tensor(inputs)
    rank = len(static_shape(inputs))
    if len(start_indices) != rank or len(shape) != rank:
        raise ValueError(f"slice: start_indices {tuple(start_indices)} and shape {tuple(shape)} need one entry per "
                         f"axis of a tensor of rank {rank}")
    starts = [_static_int(s, "start_indices") for s in start_indices]
    stops = [None if int(n) == -1 else s + int(n) for s, n in zip(starts, shape)]
    return _slice_op(inputs, starts, stops, [1] * rank)


def _static_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be Python ints (static), got {value!r} of type {type(value).__name__}")
    return int(value)


def strided_slice(x, begin, end, strides=None):
    """`x[begin[0]:end[0]:strides[0], begin[1]:…]` on the leading len(begin) axes; None bounds are open."""
    x = _tensor(x)
    rank = len(static_shape(x))
    strides = strides or [1] * len(begin)
    if not len(begin) == len(end) == len(strides) <= rank:
        raise ValueError(f"strided_slice: begin {begin}, end {end} and strides {strides} need equal lengths of at "
                         f"most the rank {rank}")
    rest = rank - len(begin)
    return _slice_op(x, [_bound(b) for b in begin] + [None] * rest, [_bound(e) for e in end] + [None] * rest,
                     [_static_int(s, "strides") for s in strides] + [1] * rest)


def get_item(x, key):
    """`x[key]` for ints, slices of ints, None (new axis) and Ellipsis: a Slice, a Take per int, then new axes."""
    x = _tensor(x)
    dims = static_shape(x)
    entries = list(key) if isinstance(key, tuple) else [key]
    for entry in entries:
        valid = entry is None or entry is Ellipsis or isinstance(entry, (int, np.integer, builtins.slice))
        if not valid or isinstance(entry, (bool, np.bool_)):
            raise TypeError(f"tensor indexing takes ints, slices, None and Ellipsis, got {entry!r} of type "
                            f"{type(entry).__name__}; use kgraph.ops.take for tensor indices")
    consumed = sum(1 for e in entries if e is not None and e is not Ellipsis)
    if entries.count(Ellipsis) > 1 or consumed > len(dims):
        raise IndexError(f"index {key!r} does not fit a tensor of shape {dims}")
    if Ellipsis in entries:
        at = entries.index(Ellipsis)
        entries[at:at + 1] = [builtins.slice(None)] * (len(dims) - consumed)
    entries += [builtins.slice(None)] * (len(dims) - sum(1 for e in entries if e is not None))
    axes = [e for e in entries if e is not None]
    slices = [e if isinstance(e, builtins.slice) else builtins.slice(None) for e in axes]
    starts = [_bound(e.start) for e in slices]
    stops = [_bound(e.stop) for e in slices]
    steps = [1 if e.step is None else _static_int(e.step, "slice step") for e in slices]
    whole = all(s in (None, 0) and e is None and t == 1 for s, e, t in zip(starts, stops, steps))
    result = x if whole else _slice_op(x, starts, stops, steps)
    for axis in reversed(range(len(axes))):
        if not isinstance(axes[axis], builtins.slice):
            index = _checked_index(int(axes[axis]), dims[axis], dims)
            result = apply("take", result, np.asarray(index, dtype=np.int32), axis=axis)
    for position in _new_axis_positions(entries):
        result = expand_dims(result, position)
    return result


def _bound(value):
    return None if value is None else _static_int(value, "slice bounds")


def _checked_index(index: int, dim, dims) -> int:
    if dim is not None and not -dim <= index < dim:
        raise IndexError(f"index {index} is out of bounds for an axis of size {dim} (shape {dims})")
    return index


def _new_axis_positions(entries: list) -> list[int]:
    """Where each None puts its new axis in the result, counting the axes kept before it."""
    positions, kept = [], 0
    for entry in entries:
        if entry is None:
            positions.append(kept)
            kept += 1
        elif isinstance(entry, builtins.slice):
            kept += 1
    return positions


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pads with NumPy's `pad_width` forms (int, (before, after), or a pair per axis); modes constant, reflect, edge."""
    x = _tensor(x)
    rank = len(static_shape(x))
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (rank, 2))
    if constant_values is not None and mode != "constant":
        raise ValueError(f"pad: constant_values can only be given with mode='constant', got mode={mode!r}")
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode must be one of {PAD_MODES}, got {mode!r}")
    return apply("pad", x, pad_width=tuple((int(lo), int(hi)) for lo, hi in widths), mode=mode,
                 constant_value=0 if constant_values is None else constant_values)


def tile(x, repeats):
    """`x` repeated whole `repeats[i]` times along axis i; shorter `repeats` are padded with 1s, as np.tile."""
    x = _tensor(x)
    repeats = (repeats,) if isinstance(repeats, (int, np.integer, SymbolicDim)) else tuple(repeats)
    if any(isinstance(r, SymbolicDim) for r in repeats):
        return _traced_tile(x, repeats)
    repeats = tuple(int(r) for r in repeats)
    rank = len(static_shape(x))
    for _ in range(len(repeats) - rank):
        x = expand_dims(x, 0)
    return apply("tile", x, repeats=(1,) * (rank - len(repeats)) + repeats)


def _traced_tile(x, repeats: tuple):
    """tile by dims known only at run time: a static tile, then a broadcast along the axes of size 1 they repeat."""
    rank = max(len(static_shape(x)), len(repeats))
    repeats = (1,) * (rank - len(repeats)) + repeats
    x = tile(x, tuple(1 if isinstance(r, SymbolicDim) else r for r in repeats))
    dims = (1,) * (rank - len(static_shape(x))) + static_shape(x)
    for axis, (r, d) in enumerate(zip(repeats, dims)):
        if isinstance(r, SymbolicDim) and d != 1:
            raise ValueError(f"tile: repeats {repeats} repeat axis {axis} of size {d} by a dim known only when the "
                             "model runs; tile takes such a dim only for axes of size 1")
    return broadcast_to(x, tuple(r if isinstance(r, SymbolicDim) else None for r in repeats))


def repeat(x, repeats, axis=None):
    """Each element repeated along `axis` (flattened when None): an int count, or one count per element."""
    x = _tensor(x)
    if axis is None:
        x, axis = _flat(x), 0
    rank = len(static_shape(x))
    axis = _axis(int(axis), rank, "repeat")
    if isinstance(repeats, (int, np.integer)):
        return apply("repeat", x, repeats=int(repeats), axis=axis)
    counts = np.asarray(repeats, dtype=np.int64).reshape(-1)
    size = static_shape(x)[axis]
    if size is None or len(counts) != size:
        raise ValueError(f"repeat: {len(counts)} counts for axis {axis} of shape {static_shape(x)}; per-element counts "
                         "need that axis known and of the same length")
    return take(x, np.repeat(np.arange(size, dtype=np.int32), counts), axis=axis)


def einsum(subscripts: str, *operands):
    """Einstein summation, as np.einsum; operands are promoted to one dtype."""
    return apply("einsum", *promote(*(_tensor(x) for x in operands)), equation=str(subscripts))


def broadcast_to(x, shape):
    """`x` broadcast to `shape` by NumPy's rule; a None in `shape` keeps x's (possibly unknown) dim there."""
    x = _tensor(x)
    dims, target = static_shape(x), tuple(shape)
    if any(isinstance(d, SymbolicDim) for d in target):
        return _traced_broadcast_to(x, target)
    lead = len(target) - len(dims)
    if lead < 0:
        raise ValueError(f"broadcast_to: cannot broadcast shape {dims} to the shorter shape {target}")
    expand = []
    for i, want in enumerate(target):
        have = dims[i - lead] if i >= lead else 1
        if want is None and i < lead:
            raise ValueError(f"broadcast_to: None in shape {target} at axis {i} has no dim of {dims} to keep")
        if want is not None and have is not None and have not in (1, want):
            raise ValueError(f"broadcast_to: cannot broadcast shape {dims} to shape {target}")
        expand.append(1 if want is None else int(want))
    return apply("broadcast_to", x, shape=tuple(expand))


def _traced_broadcast_to(x, target: tuple):
    """Broadcasting against a zero tensor of the target shape, which holds dims known only at run time."""
    lead = len(target) - len(static_shape(x))
    if lead < 0:
        raise ValueError(f"broadcast_to: cannot broadcast shape {static_shape(x)} to the shorter shape {target}")
    own = symbolic_shape(x) if isinstance(unwrap(x), SymbolicTensor) else static_shape(x)
    target = tuple(own[i - lead] if d is None and i >= lead else d for i, d in enumerate(target))
    if any(d is None for d in target):
        raise ValueError(f"broadcast_to: None in shape {target} has no dim of {static_shape(x)} to keep")
    refs, exprs = merge_dims(target)
    dtype = dtype_of(x)
    zeros = apply("fill", *refs, shape=tuple(exprs), value=False if dtype == "bool" else 0, dtype=dtype)
    return apply("logical_or" if dtype == "bool" else "add", x, zeros)


def stack(x: Sequence, axis=0):
    """Joins tensors of one shape along a new axis."""
    tensors = [_tensor(t) for t in x]
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    rank = len(static_shape(tensors[0])) + 1
    axis = _axis(int(axis), rank, "stack")
    return concatenate([expand_dims(t, axis) for t in tensors], axis=axis)


def split(x, indices_or_sections, axis=0):
    """Splits `x` along `axis` into equal sections (an int) or at the given indices, as np.split; returns a list."""
    x = _tensor(x)
    dims = static_shape(x)
    axis = _axis(int(axis), len(dims), "split")
    size = dims[axis]
    if size is None:
        raise ValueError(f"split: axis {axis} of shape {dims} must be known")
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0 or size % sections:
            raise ValueError(f"split: axis {axis} of shape {dims} does not divide into {sections} equal sections")
        sizes = (size // sections,) * sections
    else:
        bounds = [min(max(int(i) + (size if i < 0 else 0), 0), size) for i in indices_or_sections]
        edges = [0] + bounds + [size]
        sizes = tuple(max(hi - lo, 0) for lo, hi in zip(edges, edges[1:]))
    pieces = apply("split", x, sizes=sizes, axis=axis)
    return [pieces] if len(sizes) == 1 else list(pieces)


def cumsum(x, axis=None, dtype=None):
    """Running sum along `axis` (flattened when None); bools count as int32."""
    x = _tensor(x)
    if dtype is not None:
        x = convert(x, canonical_dtype(dtype))
    elif dtype_of(x) == "bool":
        x = convert(x, "int32")
    if axis is None:
        x, axis = _flat(x), 0
    return apply("cumsum", x, axis=_axis(int(axis), len(static_shape(x)), "cumsum"))
