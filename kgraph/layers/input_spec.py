"""InputSpec: the rank, shape, dtype and axis sizes a layer accepts, as Keras declares them."""

from __future__ import annotations


class InputSpec:
    """What a layer expects of an input; `assert_compatible(shape, dtype)` raises naming the difference.

    Args:
        dtype: the expected dtype.
        shape: the expected shape (None for any size on an axis).
        ndim, max_ndim, min_ndim: the expected rank, or its bounds.
        axes: {axis: size} for axes of a fixed size.
        allow_last_axis_squeeze: accept a last axis of size 1 more or fewer than `ndim`/`shape`.
        name: the input's name.
        optional: whether the input may be None.
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None,
                 allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = dtype
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.name, self.optional = name, optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        try:
            self.axes = {int(k): v for k, v in (axes or {}).items()}
        except (ValueError, TypeError):
            raise TypeError(f"Argument `axes` must be a dict with integer keys. Received: axes={axes}") from None
        if self.axes and (self.ndim is not None or self.max_ndim is not None):
            top = (self.ndim if self.ndim is not None else self.max_ndim) - 1
            if max(self.axes) > top:
                raise ValueError(f"Axis {max(self.axes)} is greater than the maximum allowed value: {top}")

    def assert_compatible(self, shape, dtype=None, layer_name: str = "layer") -> None:
        """Raises a ValueError naming `layer_name` when `shape`/`dtype` do not meet this spec."""
        shape = tuple(shape)
        where = f"Input of layer {layer_name!r} is incompatible with the layer:"
        rank = len(shape)
        if self.ndim is not None and rank != self.ndim and not (
                self.allow_last_axis_squeeze and abs(rank - self.ndim) == 1):
            raise ValueError(f"{where} expected ndim={self.ndim}, found ndim={rank}. Full shape received: {shape}")
        if self.max_ndim is not None and rank > self.max_ndim:
            raise ValueError(f"{where} expected max_ndim={self.max_ndim}, found ndim={rank}")
        if self.min_ndim is not None and rank < self.min_ndim:
            raise ValueError(f"{where} expected min_ndim={self.min_ndim}, found ndim={rank}. Full shape received: "
                             f"{shape}")
        if self.dtype is not None and dtype is not None and str(dtype) != str(self.dtype):
            raise ValueError(f"{where} expected dtype={self.dtype}, found dtype={dtype}")
        for axis, size in self.axes.items():
            if size is not None and -rank <= axis < rank and shape[axis] not in (size, None):
                raise ValueError(f"{where} expected axis {axis} of input shape to have value {size}, but received "
                                 f"input with shape {shape}")
        if self.shape is not None and rank == len(self.shape):
            for expected, got in zip(self.shape, shape):
                if expected is not None and got is not None and expected != got:
                    raise ValueError(f"{where} expected shape={self.shape}, found shape={shape}")

    def __repr__(self) -> str:
        parts = [f"dtype={self.dtype}" if self.dtype else "", f"shape={self.shape}" if self.shape else "",
                 f"ndim={self.ndim}" if self.ndim else "", f"max_ndim={self.max_ndim}" if self.max_ndim else "",
                 f"min_ndim={self.min_ndim}" if self.min_ndim else "", f"axes={self.axes}" if self.axes else ""]
        return f"InputSpec({', '.join(p for p in parts if p)})"

    def get_config(self) -> dict:
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes, "optional": self.optional}

    @classmethod
    def from_config(cls, config: dict) -> "InputSpec":
        return cls(**config)
