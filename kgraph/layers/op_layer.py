"""Wraps a `kgraph.ops` call on KerasTensors as a layer node, so ops compose in the Functional API."""

from __future__ import annotations

from kgraph import keras_tensor
from kgraph.keras_tensor import KerasTensor
from kgraph.layers.layer import Layer
from kgraph.ops.dispatch import apply


class OpLayer(Layer):
    """One op application in a Functional graph; non-tensor operands are stored as constants. Like Keras'
    operations it does not autocast: its inputs keep their dtypes under a mixed-precision policy."""

    def __init__(self, op: str, attrs: dict, template: list, **kwargs):
        kwargs.setdefault("autocast", False)
        super().__init__(name=kwargs.pop("name", None) or None, **kwargs)
        self.op = op
        self.attrs = attrs
        self.template = template

    def call(self, *tensors):
        values = iter(tensors)
        inputs = [next(values) if slot is _TENSOR else slot for slot in self.template]
        return apply(self.op, *inputs, **self.attrs)

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op, "attrs": self.attrs}


_TENSOR = object()


def apply_symbolic_op(op: str, inputs: list, attrs: dict):
    tensors = [x for x in inputs if isinstance(x, KerasTensor)]
    template = [_TENSOR if isinstance(x, KerasTensor) else x for x in inputs]
    layer = OpLayer(op, attrs, template, name=None)
    return layer(*tensors)


keras_tensor.set_op_node_builder(apply_symbolic_op)
