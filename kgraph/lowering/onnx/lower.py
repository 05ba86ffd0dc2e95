"""Turns an inference Graph into an ONNX ModelProto by running each node's ONNX rule in topological order."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import onnx
from onnx import helper

from kgraph.ir.graph import Graph, Node, Value
from kgraph.ir.passes.dce import live_nodes
from kgraph.ir.registry import get_op
from kgraph.ir.types import TensorType, numpy_dtype
from kgraph.lowering.onnx.builder import GraphBuilder, OnnxContext, onnx_dtype
from kgraph.lowering.onnx.registry import TARGET, get_rule

DEFAULT_OPSET = 17
MIN_OPSET = 13
BATCH = "batch"


def max_opset() -> int:
    """The newest default-domain opset the installed `onnx` package knows."""
    return onnx.defs.onnx_opset_version()


def check_opset(opset: int) -> int:
    """Returns `opset` if kgraph can lower to it, else raises ValueError naming the supported range.

    Args:
        opset: an ONNX default-domain opset version.
    """
    highest = max_opset()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not MIN_OPSET <= opset <= highest:
        raise ValueError(f"opset must be an integer from {MIN_OPSET} (lowest) to {highest} (highest, of onnx "
                         f"{onnx.__version__}), got {opset!r}")
    return int(opset)


def _check_batch_size(batch_size) -> int | None:
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer or None (dynamic), got {batch_size!r}")
    return int(batch_size)


def _value_info(name: str, type: TensorType, batch_size: int | None, symbols: set[str]) -> onnx.ValueInfoProto:
    """A typed graph input/output; a symbolic dim stays a dim_param only if it is one of the inputs' `symbols`
    (a derived one such as "concat" would claim equal sizes where there are none), else it is left unknown."""
    dims = []
    for d in type.shape:
        if d == BATCH and batch_size is not None:
            dims.append(batch_size)
        else:
            dims.append(d if isinstance(d, int) or d in symbols else None)
    return helper.make_tensor_value_info(name, onnx_dtype(type.dtype), dims)


def _describe(node: Node) -> str:
    return f"node {node.name!r} (op {node.op!r})" if node.name else f"a node of op {node.op!r}"


def _check_lowerable(graph: Graph, nodes: list[Node]) -> None:
    for node in nodes:
        opdef = get_op(node.op)
        refusal = opdef.refusal(TARGET)
        if refusal is not None:
            raise NotImplementedError(f"graph {graph.name!r}: {_describe(node)} cannot be exported to ONNX: {refusal}")
        if opdef.rule(TARGET) is None:
            raise NotImplementedError(f"graph {graph.name!r}: {_describe(node)} has no ONNX rule; "
                                      "register one with kgraph.lowering.onnx.onnx_rule")


def _param_array(graph: Graph, param: Value, params: Mapping[str, np.ndarray]) -> np.ndarray:
    if param.name not in params:
        raise ValueError(f"graph {graph.name!r}: no value given for parameter {param.name!r}")
    array = np.asarray(params[param.name])
    expected = param.type
    if tuple(array.shape) != expected.shape:
        raise ValueError(f"parameter {param.name!r}: expected shape {expected.shape}, got {tuple(array.shape)}")
    return array.astype(numpy_dtype(expected.dtype), copy=False)


def _output_names(graph: Graph, names: Sequence[str] | None, taken: set[str]) -> list[str]:
    count = len(graph.outputs)
    if names is None:
        names = ["output"] if count == 1 else [f"output_{i}" for i in range(count)]
    if len(names) != count:
        raise ValueError(f"graph {graph.name!r} has {count} outputs, got {len(names)} output names {list(names)}")
    result = []
    for name in names:
        unique, suffix = name, 1
        while unique in taken:
            unique, suffix = f"{name}_{suffix}", suffix + 1
        taken.add(unique)
        result.append(unique)
    return result


def _rename(nodes: list[onnx.NodeProto], old: str, new: str) -> None:
    for node in nodes:
        for field in (node.input, node.output):
            for i, name in enumerate(field):
                if name == old:
                    field[i] = new


def lower_to_onnx(graph: Graph, params: Mapping[str, np.ndarray], *, opset: int = DEFAULT_OPSET,
                  batch_size: int | None = None, output_names: Sequence[str] | None = None,
                  doc_string: str = "", producer_version: str = "") -> onnx.ModelProto:
    """Lowers an inference `graph` to an ONNX model whose weights are initializers.

    Args:
        graph: an inference graph (no random ops); its input names become the ONNX input names.
        params: an array for each of the graph's parameters, by name; they become initializers.
        opset: the default-domain opset, from 13 to `onnx.defs.onnx_opset_version()`.
        batch_size: a fixed size for the "batch" dim; None keeps it as the dim_param "batch".
        output_names: names of the ONNX outputs (default "output", or "output_0", "output_1", …).
        doc_string: the model's description, shown by viewers such as netron.
        producer_version: the version of the program that exports, recorded with the producer name "kgraph".
    """
    opset = check_opset(opset)
    batch_size = _check_batch_size(batch_size)
    nodes = live_nodes(graph.nodes, graph.outputs)  # losses and state updates are not inference
    _check_lowerable(graph, nodes)
    builder = GraphBuilder(opset)
    env: dict[Value, str] = {}
    symbols = {d for value in graph.inputs for d in value.type.shape if isinstance(d, str)}
    inputs = []
    for value in graph.inputs:
        builder.reserve(value.name)
        env[value] = value.name
        inputs.append(_value_info(value.name, value.type, batch_size, symbols))
    used = {v for node in nodes for v in node.inputs} | set(graph.outputs)
    for param in graph.params:
        if param in used:
            if param.name in env.values():
                raise ValueError(f"graph {graph.name!r}: parameter {param.name!r} has the name of a graph input")
            builder.reserve(param.name)
            env[param] = builder.initializer(_param_array(graph, param, params), param.name)
    final_names = _output_names(graph, output_names, set(env.values()))
    for name in final_names:
        builder.reserve(name)
    for node in nodes:
        result = get_rule(node.op)(OnnxContext(builder, node), *(env[v] for v in node.inputs), **node.attrs)
        results = [result] if isinstance(result, str) else list(result)
        if len(results) != len(node.outputs):
            raise RuntimeError(f"the ONNX rule of op {node.op!r} returned {len(results)} outputs, "
                               f"the IR node has {len(node.outputs)}")
        env.update(zip(node.outputs, results))
    outputs = []
    for value, name in zip(graph.outputs, final_names):
        current = env[value]
        if current in builder.produced:
            _rename(builder.nodes, current, name)
            builder.produced.discard(current)
            env.update({v: name for v, n in env.items() if n == current})
        else:
            builder.add_node("Identity", [current], [name], builder.unique(f"{name}/Identity"), "graph output", {})
        outputs.append(_value_info(name, value.type, batch_size, symbols))
    onnx_graph = helper.make_graph(builder.nodes, graph.name, inputs, outputs, builder.initializers,
                                   doc_string=doc_string)
    opset_ids = [helper.make_opsetid("", opset)]
    return helper.make_model(onnx_graph, opset_imports=opset_ids, ir_version=helper.find_min_ir_version_for(opset_ids),
                             producer_name="kgraph", producer_version=producer_version, doc_string=doc_string)
