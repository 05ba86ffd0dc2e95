"""Ops that move data without computing on it: reshape, transpose, expand_dims, squeeze, concatenate."""

from __future__ import annotations

from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.shapes import normalize_axes, normalize_axis, num_elements
from kgraph.ir.traits import LAYOUT_TRANSPARENT, RESHAPE
from kgraph.ir.types import TensorType


def _reshape(types, shape):
    """`shape` uses ONNX's conventions: 0 copies the input dim at that index, -1 is inferred."""
    (x,) = types
    if list(shape).count(-1) > 1:
        raise ShapeError(f"reshape: at most one -1 in the target shape, got {tuple(shape)}")
    out = []
    for i, d in enumerate(shape):
        if d == 0:
            if i >= x.rank:
                raise ShapeError(f"reshape: 0 at index {i} copies no dim of an input of shape {x.shape}")
            out.append(x.shape[i])
        else:
            out.append(d)
    if -1 in out:
        out[out.index(-1)] = _inferred_dim(x.shape, [d for d in out if d != -1], tuple(shape))
    elif x.is_static and all(isinstance(d, int) for d in out) and num_elements(x.shape) != num_elements(out):
        raise ShapeError(f"cannot reshape a tensor of shape {x.shape} into shape {tuple(shape)}")
    return [TensorType(x.dtype, tuple(out))]


def _inferred_dim(in_shape, known_out, target):
    in_static = num_elements([d for d in in_shape if isinstance(d, int)])
    out_static = num_elements([d for d in known_out if isinstance(d, int)])
    in_symbols = [d for d in in_shape if isinstance(d, str)]
    out_symbols = [d for d in known_out if isinstance(d, str)]
    remaining = list(in_symbols)
    for s in out_symbols:
        if s in remaining:
            remaining.remove(s)
    if out_static == 0 or in_static % out_static:
        raise ShapeError(f"cannot reshape a tensor of shape {tuple(in_shape)} into shape {target}")
    quotient = in_static // out_static
    if not remaining:
        return quotient
    if len(remaining) == 1 and quotient == 1:
        return remaining[0]
    return "*".join(remaining + ([str(quotient)] if quotient != 1 else []))


register("reshape", _reshape, attrs={"shape": REQUIRED}, num_inputs=1, traits=(RESHAPE,))


def _transpose(types, perm):
    (x,) = types
    if sorted(perm) != list(range(x.rank)):
        raise ShapeError(f"transpose: perm {perm} is not a permutation of the {x.rank} axes of {x.shape}")
    return [TensorType(x.dtype, tuple(x.shape[p] for p in perm))]


register("transpose", _transpose, attrs={"perm": REQUIRED}, num_inputs=1, traits=(LAYOUT_TRANSPARENT,))


def _expand_dims(types, axis):
    (x,) = types
    shape = list(x.shape)
    shape.insert(normalize_axis(axis, x.rank + 1, "expand_dims"), 1)
    return [TensorType(x.dtype, tuple(shape))]


register("expand_dims", _expand_dims, attrs={"axis": REQUIRED}, num_inputs=1, traits=(RESHAPE,))


def _squeeze(types, axis):
    (x,) = types
    if axis is None:
        axes = tuple(i for i, d in enumerate(x.shape) if d == 1)
    else:
        axes = normalize_axes(axis, x.rank, "squeeze")
        for a in axes:
            if x.shape[a] != 1:
                raise ShapeError(f"squeeze: axis {a} of shape {x.shape} has size {x.shape[a]}, not 1")
    return [TensorType(x.dtype, tuple(d for i, d in enumerate(x.shape) if i not in axes))]


register("squeeze", _squeeze, attrs={"axis": None}, num_inputs=1, traits=(RESHAPE,))


def _concatenate(types, axis):
    if not types:
        raise ShapeError("concatenate needs at least one input")
    first = types[0]
    a = normalize_axis(axis, first.rank, "concatenate")
    total = 0
    for t in types:
        if t.rank != first.rank or t.dtype != first.dtype:
            raise ShapeError(f"concatenate needs inputs of one rank and dtype, got {[str(t) for t in types]}")
        for i, (d1, d2) in enumerate(zip(first.shape, t.shape)):
            if i != a and isinstance(d1, int) and isinstance(d2, int) and d1 != d2:
                raise ShapeError(f"concatenate on axis {axis}: shapes {[t.shape for t in types]} differ on axis {i}")
        total = total + t.shape[a] if isinstance(total, int) and isinstance(t.shape[a], int) else f"{first.shape[a]}+"
    shape = list(first.shape)
    shape[a] = total if isinstance(total, int) else "concat"
    return [TensorType(first.dtype, tuple(shape))]


register("concatenate", _concatenate, attrs={"axis": -1}, traits=(LAYOUT_TRANSPARENT,), axis="axis", doc="join inputs along an axis")
