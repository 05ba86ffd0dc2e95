"""Adaptive average and max pooling: pools to a fixed output size whatever the (known) input size.

Output position i of a spatial axis of size L pools the window [floor(i*L/out), ceil((i+1)*L/out)), as
Keras does; windows are rectangular, so the axes are pooled one after the other with slices and reductions.
"""

from __future__ import annotations

import math

from kgraph import config, ops
from kgraph.layers.layer import Layer


def _output_size(value, rank: int, layer: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * rank
    if isinstance(value, (tuple, list)) and len(value) == rank:
        return tuple(value)
    names = {1: "an integer", 2: "an integer or (height, width) tuple", 3: "an integer or (depth, height, width) tuple"}
    raise TypeError(f"`output_size` must be {names[rank]}. Received: {value} of type {type(value)}")


class _AdaptivePooling(Layer):
    _rank = 1
    _reduce = staticmethod(ops.mean)

    def __init__(self, output_size, data_format=None, **kwargs):
        output_size = _output_size(output_size, self._rank, type(self).__name__)
        super().__init__(**kwargs)
        self.output_size = output_size
        self.data_format = data_format or config.image_data_format()
        if self.data_format not in {"channels_first", "channels_last"}:
            raise ValueError(f"Invalid data_format: {self.data_format}. Expected 'channels_first' or 'channels_last'.")

    def _axes(self) -> tuple[int, ...]:
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self._rank))

    def build(self, input_shape) -> None:
        where = f"Layer {self.name!r} ({type(self).__name__})"
        if len(input_shape) != self._rank + 2:
            raise ValueError(f"{where} needs inputs of rank {self._rank + 2}, got input shape {tuple(input_shape)}")
        if any(input_shape[a] is None for a in self._axes()):
            raise ValueError(f"{where} needs known spatial sizes, got input shape {tuple(input_shape)}")
        self.built = True

    def call(self, inputs):
        x = inputs
        for axis, out in zip(self._axes(), self.output_size):
            length = x.shape[axis]
            pieces = []
            for i in range(out):
                start, end = math.floor(i * length / out), math.ceil((i + 1) * length / out)
                index = [slice(None)] * len(x.shape)
                index[axis] = slice(start, end)
                pieces.append(self._reduce(x[tuple(index)], axis=axis, keepdims=True))
            x = pieces[0] if out == 1 else ops.concatenate(pieces, axis=axis)
        return x

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def get_config(self) -> dict:
        return {**super().get_config(), "output_size": self.output_size, "data_format": self.data_format}


def _pooling_class(name: str, rank: int, reduce, what: str) -> type:
    doc = (f"{what} pooling of {rank}D inputs to a fixed `output_size`.\n\n    Args:\n        output_size: an int or "
           f"{rank} ints, the spatial output size.\n        data_format: \"channels_last\" or \"channels_first\" "
           "(default `kgraph.config.image_data_format()`).\n    ")
    return type(name, (_AdaptivePooling,), {"_rank": rank, "_reduce": staticmethod(reduce), "__doc__": doc,
                                            "__module__": __name__})


AdaptiveAveragePooling1D = _pooling_class("AdaptiveAveragePooling1D", 1, ops.mean, "Adaptive average")
AdaptiveAveragePooling2D = _pooling_class("AdaptiveAveragePooling2D", 2, ops.mean, "Adaptive average")
AdaptiveAveragePooling3D = _pooling_class("AdaptiveAveragePooling3D", 3, ops.mean, "Adaptive average")
AdaptiveMaxPooling1D = _pooling_class("AdaptiveMaxPooling1D", 1, ops.max, "Adaptive max")
AdaptiveMaxPooling2D = _pooling_class("AdaptiveMaxPooling2D", 2, ops.max, "Adaptive max")
AdaptiveMaxPooling3D = _pooling_class("AdaptiveMaxPooling3D", 3, ops.max, "Adaptive max")
