"""Array ops that select, lay out or contract elements: take, slice, pad, tile, repeat, einsum, split, cumsum.

A dim that a slice, pad, tile or repeat changes while it is symbolic gets a derived symbol naming the change
("batch[1:]", "batch*2"), so it reads well in a printed graph and never claims to equal another dim.
"""

from __future__ import annotations

from kgraph.ir.registry import REQUIRED, ShapeError, register
from kgraph.ir.shapes import broadcast_shapes, normalize_axis
from kgraph.ir.traits import LAYOUT_TRANSPARENT
from kgraph.ir.types import Dim, TensorType, is_int

PAD_MODES = ("constant", "reflect", "edge")


def _take(types, axis):
    x, indices = types
    if not is_int(indices.dtype):
        raise ShapeError(f"take needs integer indices, got {indices.dtype}")
    a = normalize_axis(axis, x.rank, "take")
    return [TensorType(x.dtype, x.shape[:a] + indices.shape + x.shape[a + 1:])]


register("take", _take, attrs={"axis": 0}, num_inputs=2,
         doc="x's slices along axis picked by integer indices (negative counts from the end), as np.take")


def _take_along_axis(types, axis):
    x, indices = types
    if not is_int(indices.dtype):
        raise ShapeError(f"take_along_axis needs integer indices, got {indices.dtype}")
    a = normalize_axis(axis, x.rank, "take_along_axis")
    if indices.rank != x.rank:
        raise ShapeError(f"take_along_axis needs indices of x's rank {x.rank}, got shapes {x.shape} and "
                         f"{indices.shape}")
    for i, (d, k) in enumerate(zip(x.shape, indices.shape)):
        if i != a and isinstance(d, int) and isinstance(k, int) and d != k:
            raise ShapeError(f"take_along_axis on axis {a}: shapes {x.shape} and {indices.shape} differ on axis {i}")
    shape = tuple(k if i == a or isinstance(k, int) else d for i, (d, k) in enumerate(zip(x.shape, indices.shape)))
    return [TensorType(x.dtype, shape)]


register("take_along_axis", _take_along_axis, attrs={"axis": REQUIRED}, num_inputs=2,
         doc="x's elements at indices along axis, other dims matched one to one, as np.take_along_axis")


def _bound(value) -> str:
    return "" if value is None else str(value)


def _slice_length(dim: Dim, start: int | None, stop: int | None, step: int) -> Dim:
    """The size of `dim[start:stop:step]`, a derived symbol when `dim` is symbolic and the slice not whole."""
    if isinstance(dim, int):
        return len(range(*slice(start, stop, step).indices(dim)))
    if step == 1 and start in (None, 0) and stop is None:
        return dim
    return f"{dim}[{_bound(start)}:{_bound(stop)}{'' if step == 1 else f':{step}'}]"


def _slice(types, starts, stops, steps):
    (x,) = types
    if not len(starts) == len(stops) == len(steps) == x.rank:
        raise ShapeError(f"slice needs one start, stop and step per axis of {x.shape}, got starts={starts}, "
                         f"stops={stops}, steps={steps}")
    if 0 in steps:
        raise ShapeError(f"slice steps must be non-zero, got {steps}")
    return [TensorType(x.dtype, tuple(_slice_length(*args) for args in zip(x.shape, starts, stops, steps)))]


register("slice", _slice, attrs={"starts": REQUIRED, "stops": REQUIRED, "steps": REQUIRED}, num_inputs=1,
         traits=(LAYOUT_TRANSPARENT,), per_axis=("starts", "stops", "steps"),
         doc="x[start:stop:step] on every axis, Python's rules (None is open, negatives count from the end)")


def _grown(dim: Dim, extra: int) -> Dim:
    if isinstance(dim, int):
        return dim + extra
    return dim if extra == 0 else f"{dim}+{extra}"


def _pad(types, pad_width, mode, constant_value):
    (x,) = types
    if len(pad_width) != x.rank or any(len(p) != 2 or min(p) < 0 for p in pad_width):
        raise ShapeError(f"pad needs a non-negative (before, after) pair per axis of {x.shape}, got {pad_width}")
    if mode not in PAD_MODES:
        raise ShapeError(f"pad mode must be one of {PAD_MODES}, got {mode!r}")
    for d, (lo, hi) in zip(x.shape, pad_width):
        if mode == "reflect" and isinstance(d, int) and max(lo, hi) >= d:
            raise ShapeError(f"pad: reflect padding {(lo, hi)} needs a dim larger than it, got shape {x.shape}")
    return [TensorType(x.dtype, tuple(_grown(d, lo + hi) for d, (lo, hi) in zip(x.shape, pad_width)))]


register("pad", _pad, attrs={"pad_width": REQUIRED, "mode": "constant", "constant_value": 0}, num_inputs=1,
         traits=(LAYOUT_TRANSPARENT,), per_axis=("pad_width",),
         doc="pad each axis by (before, after) with a constant, a reflection or the edge value")


def _scaled(dim: Dim, factor: int) -> Dim:
    if isinstance(dim, int):
        return dim * factor
    return dim if factor == 1 else f"{dim}*{factor}"


def _tile(types, repeats):
    (x,) = types
    if len(repeats) != x.rank or any(r < 0 for r in repeats):
        raise ShapeError(f"tile needs a non-negative repeat count per axis of {x.shape}, got {repeats}")
    return [TensorType(x.dtype, tuple(_scaled(d, r) for d, r in zip(x.shape, repeats)))]


register("tile", _tile, attrs={"repeats": REQUIRED}, num_inputs=1, doc="x repeated whole along each axis, as np.tile")


def _repeat(types, repeats, axis):
    (x,) = types
    if repeats < 0:
        raise ShapeError(f"repeat needs a non-negative count, got {repeats}")
    a = normalize_axis(axis, x.rank, "repeat")
    return [TensorType(x.dtype, x.shape[:a] + (_scaled(x.shape[a], repeats),) + x.shape[a + 1:])]


register("repeat", _repeat, attrs={"repeats": REQUIRED, "axis": REQUIRED}, num_inputs=1,
         traits=(LAYOUT_TRANSPARENT,), axis="axis",
         doc="each element repeated `repeats` times along axis, as np.repeat with an int count")


def _parse_einsum(equation: str, ranks: list[int]) -> tuple[list[list[str]], list[str]]:
    """Each operand's labels and the output's, with "..." spelled out as labels ".0", ".1", … aligned on the right.

    Args:
        equation: NumPy einsum subscripts, e.g. "bij,bjk->bik" or "...i,i" (implicit output).
        ranks: the rank of each operand.
    """
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise ShapeError(f"einsum equation {equation!r} names {len(terms)} operands, got {len(ranks)}")
    operands, ellipsis = [], 0
    for term, rank in zip(terms, ranks):
        labels = _labels(term, rank, equation)
        operands.append(labels)
        ellipsis = max(ellipsis, sum(label.startswith(".") for label in labels))
    block = [f".{ellipsis - 1 - i}" for i in range(ellipsis)]
    if arrow:
        if rhs.count("...") > 1 or not set(rhs.replace("...", "")).issubset(set(lhs)):
            raise ShapeError(f"einsum equation {equation!r}: the output names labels no operand has")
        head, dots, tail = rhs.partition("...")
        output = list(head) + (block if dots else []) + list(tail)
        if len(set(output)) != len(output):
            raise ShapeError(f"einsum equation {equation!r} repeats an output label")
    else:
        letters = [c for c in lhs if c.isalpha()]
        output = block + sorted(c for c in set(letters) if letters.count(c) == 1)
    return operands, output


def _labels(term: str, rank: int, equation: str) -> list[str]:
    head, dots, tail = term.partition("...")
    letters = head + tail
    if not all(c.isalpha() for c in letters) or "..." in tail:
        raise ShapeError(f"einsum equation {equation!r}: term {term!r} must be letters with at most one '...'")
    extra = rank - len(letters)
    if extra < 0 or (extra and not dots):
        raise ShapeError(f"einsum equation {equation!r}: term {term!r} does not fit an operand of rank {rank}")
    return list(head) + [f".{extra - 1 - i}" for i in range(extra)] + list(tail)


def _einsum(types, equation):
    if len({t.dtype for t in types}) != 1:
        raise ShapeError(f"einsum needs operands of one dtype, got {[t.dtype for t in types]}")
    operands, output = _parse_einsum(equation, [t.rank for t in types])
    sizes: dict[str, Dim] = {}
    for labels, t in zip(operands, types):
        for label, d in zip(labels, t.shape):
            sizes[label] = _label_size(label, sizes.get(label), d, equation, types)
    return [TensorType(types[0].dtype, tuple(sizes[label] for label in output))]


def _label_size(label: str, known: Dim | None, d: Dim, equation: str, types) -> Dim:
    """One label's size across operands; ellipsis labels broadcast (1 against n), letters must agree."""
    if known is None or label.startswith(".") and known == 1:
        return d
    if label.startswith(".") and d == 1:
        return known
    if isinstance(known, int) and isinstance(d, int) and known != d:
        raise ShapeError(f"einsum {equation!r}: label {label!r} has sizes {known} and {d} in shapes "
                         f"{[t.shape for t in types]}")
    return known if isinstance(known, int) else d


register("einsum", _einsum, attrs={"equation": REQUIRED}, doc="Einstein summation over the operands, as np.einsum")


def _broadcast_to(types, shape):
    (x,) = types
    return [TensorType(x.dtype, broadcast_shapes(x.shape, tuple(shape)))]


register("broadcast_to", _broadcast_to, attrs={"shape": REQUIRED}, num_inputs=1,
         doc="x broadcast with `shape` both ways, as ONNX Expand: a 1 in `shape` keeps x's dim")


def _split(types, sizes, axis):
    (x,) = types
    a = normalize_axis(axis, x.rank, "split")
    if not sizes or any(s < 0 for s in sizes):
        raise ShapeError(f"split needs non-negative sizes, got {sizes}")
    if isinstance(x.shape[a], int) and sum(sizes) != x.shape[a]:
        raise ShapeError(f"split: sizes {tuple(sizes)} do not add up to axis {a} of shape {x.shape}")
    return [TensorType(x.dtype, x.shape[:a] + (s,) + x.shape[a + 1:]) for s in sizes]


register("split", _split, attrs={"sizes": REQUIRED, "axis": 0}, num_inputs=1,
         doc="consecutive pieces of x along axis, one output per size")


def _cumsum(types, axis):
    (x,) = types
    if x.dtype == "bool":
        raise ShapeError("cumsum needs a numeric input, got bool")
    normalize_axis(axis, x.rank, "cumsum")
    return [x]


register("cumsum", _cumsum, attrs={"axis": REQUIRED}, num_inputs=1, traits=(LAYOUT_TRANSPARENT,), axis="axis",
         doc="running sum along axis, in x's dtype")
