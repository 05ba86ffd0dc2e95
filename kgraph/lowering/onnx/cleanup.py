"""A lowered ONNX graph's last clean-up: what the IR passes cannot see because ONNX rules emit it.

Rules lay out weights with ONNX nodes (a convolution kernel's Transpose, an LSTM's gate Gather and Unsqueeze):
`clean_up` evaluates each node whose inputs are all initializers into an initializer (keeping the weight's name
when it replaces it), drops recurrent initial states that are zeros (ONNX's default), merges duplicate nodes and
removes nodes and initializers no output needs.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import onnx
from onnx import numpy_helper

# A folded result may hold up to this many elements more than its inputs together.
MAX_GROWTH = 4096
_RECURRENT_STATES = {"LSTM": (5, 6), "GRU": (5,), "RNN": (5,)}
# Ops that keep an all-zero first input all zero.
_ZERO_PRESERVING = ("Unsqueeze", "Squeeze", "Reshape", "Expand", "Transpose", "Identity", "Cast", "Flatten", "Tile")


def _subgraphs(node: onnx.NodeProto) -> Iterable[onnx.GraphProto]:
    for attr in node.attribute:
        if attr.type == onnx.AttributeProto.GRAPH:
            yield attr.g
        elif attr.type == onnx.AttributeProto.GRAPHS:
            yield from attr.graphs


def _outer_names(graph: onnx.GraphProto) -> set[str]:
    """Names a subgraph reads (its own and outer-scope ones), recursively."""
    names = {name for node in graph.node for name in node.input if name}
    names |= {o.name for o in graph.output}
    for node in graph.node:
        for sub in _subgraphs(node):
            names |= _outer_names(sub)
    return names


def _reads(node: onnx.NodeProto) -> set[str]:
    names = {name for name in node.input if name}
    for sub in _subgraphs(node):
        names |= _outer_names(sub)
    return names


def _rename(graph: onnx.GraphProto, old: str, new: str) -> None:
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
        for sub in _subgraphs(node):
            _rename(sub, old, new)
    for out in graph.output:
        if out.name == old:
            out.name = new


class _Cleaner:
    def __init__(self, model: onnx.ModelProto):
        self.model = model
        self.graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
        self.initializers = {t.name: t for t in self.graph.initializer}
        self.arrays: dict[str, np.ndarray] = {}
        self.outputs = {o.name for o in self.graph.output}

    def array(self, name: str) -> np.ndarray:
        if name not in self.arrays:
            self.arrays[name] = numpy_helper.to_array(self.initializers[name])
        return self.arrays[name]

    def readers(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in self.graph.node:
            for name in _reads(node):
                counts[name] = counts.get(name, 0) + 1
        return counts

    def _evaluate(self, node: onnx.NodeProto) -> list[np.ndarray] | None:
        from onnx.reference import ReferenceEvaluator  # loads onnx's reference runtime only when a constant is folded

        feeds = {name: self.array(name) for name in node.input if name}
        try:
            return list(ReferenceEvaluator(node, opsets={"": self.opset}).run(None, feeds))
        except Exception:  # an op the reference cannot run: leave it to the runtime
            return None

    def foldable(self, node: onnx.NodeProto) -> bool:
        inputs = [name for name in node.input if name]
        return (node.domain in ("", "ai.onnx") and bool(inputs) and not any(True for _ in _subgraphs(node))
                and not node.op_type.startswith("Random") and node.op_type not in ("Bernoulli", "Multinomial")
                and all(name in self.initializers for name in inputs)
                and not any(name in self.outputs for name in node.output))

    def fold(self) -> None:
        readers = self.readers()
        kept = []
        for node in self.graph.node:
            results = self._evaluate(node) if self.foldable(node) else None
            inputs = [name for name in node.input if name]
            size = sum(self.array(name).size for name in inputs) if results is not None else 0
            if results is None or sum(np.size(r) for r in results) > size + MAX_GROWTH:
                kept.append(node)
                continue
            largest = max(inputs, key=lambda name: self.array(name).size)
            for out, value in zip(node.output, results):
                name = out
                if (len(node.output) == 1 and readers.get(largest, 0) == 1 and
                        np.size(value) == self.array(largest).size):
                    name = largest  # the result replaces its weight, under the weight's name
                    del self.initializers[largest]
                    readers[largest] = 0
                self.initializers[name] = numpy_helper.from_array(np.asarray(value), name)
                self.arrays[name] = np.asarray(value)
                if name != out:
                    _rename(self.graph, out, name)
        del self.graph.node[:]
        self.graph.node.extend(kept)

    def drop_zero_states(self) -> None:
        producers = {out: node for node in self.graph.node for out in node.output}
        memo: dict[str, bool] = {}

        def zero(name: str) -> bool:
            if name not in memo:
                memo[name] = False
                memo[name] = self._zero(name, producers, zero)
            return memo[name]

        for node in self.graph.node:
            if node.domain in ("", "ai.onnx") and node.op_type in _RECURRENT_STATES:
                for index in _RECURRENT_STATES[node.op_type]:
                    if index < len(node.input) and node.input[index] and zero(node.input[index]):
                        node.input[index] = ""
                while node.input and not node.input[-1]:
                    del node.input[-1]

    def _zero(self, name: str, producers, zero) -> bool:
        if name in self.initializers:
            return not np.any(self.array(name))
        node = producers.get(name)
        if node is None:
            return False
        if node.op_type == "ConstantOfShape":
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            return value is None or not np.any(numpy_helper.to_array(value))
        if node.op_type in _ZERO_PRESERVING:
            return zero(node.input[0])
        if node.op_type in ("Add", "Sub", "Max", "Min", "Concat"):
            return all(zero(i) for i in node.input if i)
        return False

    def merge_duplicates(self) -> None:
        seen: dict[tuple, onnx.NodeProto] = {}
        kept = []
        for node in self.graph.node:
            if any(True for _ in _subgraphs(node)) or node.op_type.startswith("Random"):
                kept.append(node)
                continue
            key = (node.domain, node.op_type, tuple(node.input), len(node.output),
                   tuple(a.SerializeToString() for a in node.attribute))
            first = seen.get(key)
            if first is None or any(name in self.outputs for name in node.output):
                seen.setdefault(key, node)
                kept.append(node)
                continue
            for old, new in zip(node.output, first.output):
                _rename(self.graph, old, new)
        del self.graph.node[:]
        self.graph.node.extend(kept)

    def remove_dead(self) -> None:
        needed = set(self.outputs)
        live = []
        for node in reversed(self.graph.node):
            if any(name in needed for name in node.output):
                live.append(node)
                needed |= _reads(node)
        del self.graph.node[:]
        self.graph.node.extend(reversed(live))
        del self.graph.initializer[:]
        self.graph.initializer.extend(t for name, t in self.initializers.items() if name in needed)

    def run(self) -> onnx.ModelProto:
        self.merge_duplicates()  # first, so that a weight two nodes lay out alike is laid out, and stored, once
        self.fold()
        self.drop_zero_states()
        self.merge_duplicates()
        self.remove_dead()
        return self.model


def clean_up(model: onnx.ModelProto) -> onnx.ModelProto:
    """Folds initializer-only nodes, drops zero recurrent initial states, merges duplicates, removes dead nodes;
    changes `model` in place and returns it.

    Args:
        model: a ModelProto as `lower_to_onnx` returns it.
    """
    return _Cleaner(model).run()
