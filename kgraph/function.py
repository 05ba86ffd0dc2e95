"""`kgraph.Function`: the computation linking some KerasTensors to others, reapplied to new inputs.

Like Keras' `keras.Function` it is a Functional model without state tracking or the Layer API: calling it replays
the recorded layer and op calls on arrays (eagerly), on a traced model's symbolic tensors (recording IR) or on new
KerasTensors (extending a Functional graph).
"""

from __future__ import annotations

from kgraph import tree
from kgraph.keras_tensor import KerasTensor
from kgraph.layers.core.input_layer import InputLayer
from kgraph.layers.layer import Node
from kgraph.operation import Operation

__all__ = ["Function"]


def _check_tensors(structure, what: str) -> list[KerasTensor]:
    flat = tree.flatten(structure)
    if not flat:
        raise ValueError(f"`{what}` argument cannot be empty. Received: {what}={structure}")
    for t in flat:
        if not isinstance(t, KerasTensor):
            raise ValueError(f"Function `{what}` must be KerasTensors, got {t!r} of type {type(t).__name__}")
    return flat


def _nodes_between(inputs: list[KerasTensor], outputs: list[KerasTensor]) -> list[Node]:
    """The layer-call nodes computing `outputs` from `inputs`, each after the nodes that feed it."""
    input_ids = {id(t) for t in inputs}
    order: list[Node] = []
    done: set[int] = set()
    visiting: set[int] = set()

    def visit(tensor: KerasTensor) -> None:
        if id(tensor) in input_ids:
            return
        if tensor._history is None or isinstance(tensor._history[0], InputLayer):
            raise ValueError(f"Graph disconnected: the outputs depend on {tensor!r}, which is not among the "
                             f"inputs {inputs}")
        layer, index, _ = tensor._history
        node = layer._inbound_nodes[index]
        if id(node) in done:
            return
        if id(node) in visiting:
            raise ValueError("The operation graph has a cycle")
        visiting.add(id(node))
        for parent in node.input_tensors:
            visit(parent)
        done.add(id(node))
        order.append(node)

    for t in outputs:
        visit(t)
    return order


class Function(Operation):
    """Captures the graph of operations from `inputs` to `outputs` so it can be applied to new inputs.

    Args:
        inputs: A `KerasTensor` or a nested structure of them.
        outputs: A `KerasTensor` or a nested structure of them, computable from `inputs` alone.
        name: The function's name.
    """

    def __init__(self, inputs, outputs, name: str | None = None):
        super().__init__(name=name)
        self._inputs = _check_tensors(inputs, "inputs")
        self._outputs = _check_tensors(outputs, "outputs")
        self._inputs_struct = tree.map_structure(lambda x: x, inputs)
        self._outputs_struct = tree.map_structure(lambda x: x, outputs)
        self._nodes = _nodes_between(self._inputs, self._outputs)
        operations = []
        for node in self._nodes:
            operation = getattr(node.layer, "operation", node.layer)
            if all(operation is not op for op in operations):
                operations.append(operation)
        self._operations = operations

    @property
    def operations(self) -> list:
        """The layers and operations of the graph, each after those that feed it."""
        return self._operations[:]

    @property
    def inputs(self) -> list[KerasTensor]:
        """Flat list of the symbolic inputs of the Function."""
        return self._inputs

    @property
    def outputs(self) -> list[KerasTensor]:
        """Flat list of the symbolic outputs of the Function."""
        return self._outputs

    def __call__(self, inputs):
        return self.call(inputs)

    def call(self, inputs):
        """Computes the outputs for new `inputs` (the structure the Function was built with)."""
        flat = self._check_inputs(inputs)
        values = {id(t): x for t, x in zip(self._inputs, flat)}

        def substitute(x):
            return values[id(x)] if isinstance(x, KerasTensor) and id(x) in values else x

        for node in self._nodes:
            outputs = node.layer(*tree.map_structure(substitute, list(node.args)),
                                 **tree.map_structure(substitute, node.kwargs))
            for t, out in zip(tree.flatten(node.outputs), tree.flatten(outputs)):
                values[id(t)] = out
        return tree.map_structure(lambda t: values[id(t)], self._outputs_struct)

    def compute_output_spec(self, inputs):
        """The outputs as KerasTensors for KerasTensor `inputs`."""
        return self.call(inputs)

    def _check_inputs(self, inputs) -> list:
        flat = tree.flatten(inputs)
        if len(flat) != len(self._inputs):
            raise ValueError(f"Function {self.name!r} expects {len(self._inputs)} input(s) structured as "
                             f"{self._inputs_struct}, got {len(flat)}: {inputs}")
        for i, (x, ref) in enumerate(zip(flat, self._inputs)):
            rank = len(getattr(x, "shape", ()))
            if hasattr(x, "shape") and rank != len(ref.shape):
                raise ValueError(f"Function {self.name!r}: input {i} has rank {rank}, expected rank "
                                 f"{len(ref.shape)} (shape {ref.shape})")
        return flat

    def get_config(self) -> dict:
        raise NotImplementedError("A Function is rebuilt from its tensors, it has no config; save a Functional "
                                  "model (kgraph.Model(inputs, outputs)) to serialize a graph.")
