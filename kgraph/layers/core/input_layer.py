"""InputLayer and `Input`: the entry points of a Functional model."""

from __future__ import annotations

from kgraph import config
from kgraph.ir.types import canonical_dtype
from kgraph.keras_tensor import KerasTensor
from kgraph.layers.layer import Layer, Node, unique_name


class InputLayer(Layer):
    """Holds the spec (shape, dtype, name) of one model input; calling it is an error."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, **kwargs):
        super().__init__(name=name or unique_name("input_layer"), **kwargs)
        if sparse:
            raise ValueError(f"InputLayer {self.name!r}: sparse inputs are not supported by kgraph")
        if shape is not None and batch_shape is not None:
            raise ValueError(f"InputLayer {self.name!r}: pass `shape` or `batch_shape`, not both")
        if batch_shape is None:
            if shape is None:
                raise ValueError(f"InputLayer {self.name!r}: `shape` is required, e.g. Input(shape=(784,))")
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        for d in self.batch_shape:
            if d is not None and d < 1:
                raise ValueError(f"InputLayer {self.name!r}: `shape` dims must be positive integers or None, got "
                                 f"shape {self.batch_shape}")
        self._dtype = "string" if dtype == "string" else canonical_dtype(dtype or config.floatx())
        self.optional = optional
        symbols = tuple("batch" if i == 0 else f"{self.name}_d{i}" for i in range(len(self.batch_shape)))
        tensor = KerasTensor(self.batch_shape, self._dtype, name=self.name, symbols=symbols)
        self._inbound_nodes.append(Node(self, (), {}, tensor))
        tensor._history = (self, 0, 0)
        self.built = True

    @property
    def dtype(self) -> str:
        """The dtype of the input tensor (Keras' InputLayer keeps its own, not its policy's)."""
        return self._dtype

    def call(self):
        raise RuntimeError(f"InputLayer {self.name!r} cannot be called")

    def get_config(self) -> dict:
        return {"batch_shape": self.batch_shape, "dtype": self.dtype, "sparse": False, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None,
          optional=False) -> KerasTensor:
    """A symbolic input: the start of a Functional model.

    Args:
        shape: the shape of one sample, without the batch dim, e.g. `(784,)`.
        batch_size: a fixed batch size (default: any).
        dtype: the dtype fed (default `kgraph.config.floatx()`; integer inputs stay integer).
        batch_shape: the full shape including the batch dim, instead of `shape`/`batch_size`.
        name: the input's name; model inputs passed as dicts are keyed by it.
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       input_tensor=tensor, optional=optional, name=name)
    return layer.output
