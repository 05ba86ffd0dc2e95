"""StackedRNNCells: several RNN cells run one after the other at each time step, as one cell."""

from __future__ import annotations

from kgraph.layers.layer import Layer
from kgraph.layers.rnn.rnn import deserialize_layer, serialize_layer


def _output_size(cell) -> int:
    if getattr(cell, "output_size", None) is not None:
        return cell.output_size
    return cell.state_size[0] if isinstance(cell.state_size, (list, tuple)) else cell.state_size


class StackedRNNCells(Layer):
    """Cells stacked into one: at each step, each cell reads the previous cell's output, and the last cell's output
    is the stack's. Its states are the cells' states, one entry per cell (a list for cells with several states).

    Args:
        cells: the RNN cells, each a layer with `state_size` and `call(inputs, states)`.
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if "call" not in dir(cell):
                raise ValueError(f"All cells must have a `call` method. Received cell without a `call` method: {cell}")
            if "state_size" not in dir(cell):
                raise ValueError("All cells must have a `state_size` attribute. Received cell without a `state_size`: "
                                 f"{cell}")
        self.cells = list(cells)

    @property
    def state_size(self) -> list:
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> int:
        return _output_size(self.cells[-1])

    @property
    def flat_state_size(self) -> list[int]:
        """The sizes of all the cells' states, in order, as one flat list."""
        return [s for size in self.state_size for s in (size if isinstance(size, (list, tuple)) else [size])]

    def nest_states(self, flat: list) -> list:
        """Flat states grouped per cell: a list for a cell with a list `state_size`, else the one tensor."""
        flat, nested = list(flat), []
        for size in self.state_size:
            count = len(size) if isinstance(size, (list, tuple)) else 1
            nested.append(list(flat[:count]) if isinstance(size, (list, tuple)) else flat[0])
            flat = flat[count:]
        return nested

    def flatten_states(self, nested) -> list:
        """Per-cell states (as `call` returns them) as one flat list."""
        nested = [nested] if len(self.cells) == 1 else nested
        return [s for states in nested for s in (states if isinstance(states, (list, tuple)) else [states])]

    def build(self, input_shape):
        batch = input_shape[0]
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(input_shape)
                cell.built = True
            input_shape = (batch, _output_size(cell))
        self.built = True

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            is_list = isinstance(cell_states, (list, tuple))
            cell_states = list(cell_states) if is_list else [cell_states]
            kwargs = {"training": training} if getattr(cell, "_call_has_training_arg", False) else {}
            inputs, cell_states = cell(inputs, cell_states, **kwargs)
            if isinstance(cell_states, (list, tuple)) and len(cell_states) == 1 and not is_list:
                cell_states = cell_states[0]
            new_states.append(cell_states)
        return inputs, new_states[0] if len(new_states) == 1 else new_states

    def get_config(self) -> dict:
        return {**super().get_config(), "cells": [serialize_layer(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "StackedRNNCells":
        config = dict(config)
        cells = [deserialize_layer(cell, custom_objects) for cell in config.pop("cells")]
        return cls(cells, **config)
