"""Dot: the per-sample dot product of two tensors along chosen axes."""

from __future__ import annotations

from kgraph import ops
from kgraph.layers.merging.base_merge import Merge

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class Dot(Merge):
    """Contracts `axes[0]` of the first input with `axes[1]` of the second, per sample (Keras' `batch_dot`).

    A result of rank 1 gets a trailing axis of size 1. The output has no mask.

    Args:
        axes: an int for both inputs, or a pair (axis of the first, axis of the second); never the batch axis.
        normalize: L2-normalize both inputs along their axis first, which makes the result a cosine similarity.
    """

    def __init__(self, axes, normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)) or len(axes) != 2 or not all(isinstance(a, int) for a in axes):
                raise ValueError(f"Dot: `axes` must be an int or a pair of ints, got axes={axes!r}")
            axes = tuple(axes)
        self.axes = axes
        self.normalize = normalize

    def _resolved_axes(self, ranks: tuple[int, int]) -> tuple[int, int]:
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        return tuple(a % rank for a, rank in zip(pair, ranks))

    def build(self, input_shape) -> None:
        shapes = self._check_list(input_shape)
        if len(shapes) != 2:
            raise ValueError(f"{self._describe()} should be called on exactly 2 inputs, got shapes {shapes}")
        if min(len(s) for s in shapes) < 2:
            raise ValueError(f"{self._describe()} needs inputs of rank >= 2, got shapes {shapes}")
        a1, a2 = self._resolved_axes((len(shapes[0]), len(shapes[1])))
        if 0 in (a1, a2):
            raise ValueError(f"{self._describe()} cannot contract the batch axis, got axes={self.axes} for shapes "
                             f"{shapes}")
        d1, d2 = shapes[0][a1], shapes[1][a2]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(f"{self._describe()}: dim {d1} (axis {a1}) of the first input differs from dim {d2} "
                             f"(axis {a2}) of the second; shapes {shapes}")
        self.built = True

    def call(self, inputs, mask=None):
        x1, x2 = inputs
        r1, r2 = ops.ndim(x1), ops.ndim(x2)
        a1, a2 = self._resolved_axes((r1, r2))
        if self.normalize:
            x1, x2 = ops.normalize(x1, axis=a1), ops.normalize(x2, axis=a2)
        batch, shared, *free = _LETTERS
        free = iter(free)
        s1 = [batch] + [shared if i == a1 else next(free) for i in range(1, r1)]
        s2 = [batch] + [shared if i == a2 else next(free) for i in range(1, r2)]
        out = [batch] + [c for c in s1[1:] if c != shared] + [c for c in s2[1:] if c != shared]
        result = ops.einsum(f"{''.join(s1)},{''.join(s2)}->{''.join(out)}", x1, x2)
        return ops.expand_dims(result, -1) if len(out) == 1 else result

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def dot(inputs, axes=-1, **kwargs):
    """`Dot(axes=axes, **kwargs)(inputs)`."""
    return Dot(axes=axes, **kwargs)(inputs)
