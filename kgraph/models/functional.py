"""Functional models: a DAG of layer calls from `Input`s to outputs, replayed by `call`."""

from __future__ import annotations

import weakref

from kgraph.keras_tensor import KerasTensor
from kgraph.layers.core.input_layer import InputLayer
from kgraph.layers.layer import Node, unique_name
from kgraph.models.functional_config import keras_layers, keras_operations
from kgraph.models.model import Model
from kgraph import tree

# The compiled part of each model that starts with host-side layers (a FeatureSpace), kept off the model so that
# saving's walk over its attributes does not see a second model.
_COMPILED_PARTS: "weakref.WeakKeyDictionary[Functional, Functional]" = weakref.WeakKeyDictionary()


def _check_tensors(structure, what: str) -> None:
    for t in tree.flatten(structure):
        if not isinstance(t, KerasTensor):
            raise ValueError(f"Functional model {what} must be KerasTensors (from keras.Input and layers called on them), "
                             f"got {t!r} of type {type(t).__name__}")


def _nodes_between(inputs: list[KerasTensor], outputs: list[KerasTensor]) -> list[Node]:
    """The nodes that compute `outputs` from `inputs`, in an order where each comes after its parents."""
    input_ids = {id(t) for t in inputs}
    order: list[Node] = []
    state: dict[int, str] = {}

    def visit(tensor: KerasTensor):
        if tensor._history is None:
            raise ValueError(f"Tensor {tensor!r} was not produced by a layer call on a keras.Input")
        layer, index, _ = tensor._history
        node = layer._inbound_nodes[index]
        if state.get(id(node)) == "done":
            return
        if state.get(id(node)) == "visiting":
            raise ValueError("The layer graph has a cycle")
        state[id(node)] = "visiting"
        if id(tensor) in input_ids and not isinstance(layer, InputLayer):  # a model from intermediate tensors
            state[id(node)] = "done"
            return
        if id(tensor) not in input_ids:
            if isinstance(layer, InputLayer):
                raise ValueError(f"Graph disconnected: output depends on input {layer.name!r}, which is not among "
                                 f"the model's inputs {[t.name for t in inputs]}")
            for parent in node.input_tensors:
                visit(parent)
        state[id(node)] = "done"
        order.append(node)

    for t in outputs:
        visit(t)
    return order


class Functional(Model):
    """A model defined by `Model(inputs, outputs)`; `call` replays the recorded layer calls."""

    _keras_location = ("keras.src.models.functional", "Functional", "Functional")
    _convert_input_args = False  # its layers cast their own inputs; its ops keep the inputs' dtypes, as in Keras

    def __init__(self, inputs, outputs, name=None, **kwargs):
        super().__init__(name=name or unique_name("functional"), **kwargs)
        if isinstance(inputs, dict):
            for key, t in inputs.items():
                if isinstance(t, KerasTensor) and t.name != key:
                    raise ValueError(f"Functional model inputs dict key {key!r} does not match the Input's name {t.name!r}")
        _check_tensors(inputs, "inputs")
        _check_tensors(outputs, "outputs")
        self._input_structure = inputs
        self._output_structure = outputs
        self._inputs = tree.flatten(inputs)
        self._outputs = tree.flatten(outputs)
        self._nodes = _nodes_between(self._inputs, self._outputs)
        self._layers = keras_operations(self)  # Keras' order (by depth from the outputs): weights line up with Keras'
        host_nodes = [node for node in self._nodes if getattr(node.layer, "runs_on_host", False)]
        if host_nodes:
            fed = {id(t) for t in self._inputs}
            for node in host_nodes:
                if any(id(t) not in fed for t in node.input_tensors):
                    raise ValueError(f"Layer {node.layer.name!r} runs on the host before the compiled model, so it "
                                     "must take the model's inputs directly")
            _COMPILED_PARTS[self] = Functional([t for n in host_nodes for t in tree.flatten(n.outputs)], outputs,
                                               name=f"{self.name}_compiled_part")
        self.built = True

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """A model that starts with host-side preprocessing (a FeatureSpace) runs it on `x`, then its compiled part."""
        compiled_part = _COMPILED_PARTS.get(self)
        if compiled_part is None:
            return super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)
        values = {id(t): v for t, v in zip(self._inputs, self._flatten_call_inputs(x))}
        encoded = []
        for node in (n for n in self._nodes if getattr(n.layer, "runs_on_host", False)):
            args = tree.map_structure(lambda t: values[id(t)] if isinstance(t, KerasTensor) else t, list(node.args))
            encoded += tree.flatten(node.layer(*args, **node.kwargs))
        return compiled_part.predict(encoded if len(encoded) > 1 else encoded[0], batch_size=batch_size,
                                     verbose=verbose, steps=steps, callbacks=callbacks)

    @property
    def layers(self) -> list:
        return list(self._layers)

    @property
    def _saved_layers(self) -> list:
        return keras_layers(self._layers)

    def _obj_type(self) -> str:
        return "Functional"

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._outputs)

    @property
    def input(self):
        return self._input_structure

    @property
    def output(self):
        return self._output_structure

    @property
    def input_names(self) -> list[str]:
        return [t.name for t in self._inputs]

    @property
    def output_names(self) -> list[str]:
        return [t._history[0].name for t in self._outputs]

    def call(self, inputs, training=None):
        flat = self._flatten_call_inputs(inputs)
        values = {id(t): x for t, x in zip(self._inputs, flat)}
        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue

            def substitute(x):
                return values[id(x)] if isinstance(x, KerasTensor) else x

            args = tree.map_structure(substitute, list(node.args))
            kwargs = tree.map_structure(substitute, node.kwargs)
            outputs = node.layer(*args, **kwargs)
            for t, out in zip(tree.flatten(node.outputs), tree.flatten(outputs)):
                values[id(t)] = out
        return tree.map_structure(lambda t: values[id(t)], self._output_structure)

    def _flatten_call_inputs(self, inputs) -> list:
        """Matches call inputs to the model's Inputs: one tensor, a list in order, or a dict by name."""
        names = self.input_names
        if isinstance(inputs, dict):
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"Model {self.name!r}: missing input(s) {missing} in the dict passed; "
                                 f"expected keys {names}, got {sorted(inputs)}")
            unknown = sorted(set(inputs) - set(names))
            if unknown:
                raise ValueError(f"Model {self.name!r}: unknown input key(s) {unknown}; expected keys {names}")
            return [inputs[n] for n in names]
        flat = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(names):
            raise ValueError(f"Model {self.name!r} expects {len(names)} input(s) {names}, got {len(flat)}")
        return list(flat)
