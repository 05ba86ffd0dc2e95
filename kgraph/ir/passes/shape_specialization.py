"""Shape specialization: the symbolic "batch" dim becomes a fixed size, and every type is inferred again from it.

Dims derived from the batch ("batch*2") become ints too, so later passes can fold what only needed the shape
(the zero initial states of recurrent layers, for one). Without `batch_size` the pass returns the graph as it is.
"""

from __future__ import annotations

import numpy as np

from kgraph.ir.graph import Graph, Value
from kgraph.ir.passes.manager import PassResult, register_pass
from kgraph.ir.passes.rewrite import GraphRewriter
from kgraph.ir.types import TensorType

BATCH = "batch"


@register_pass("shape_specialization")
def shape_specialization(graph: Graph, *, batch_size: int | None = None) -> PassResult:
    if batch_size is None or not any(BATCH in v.type.shape for v in graph.inputs):
        return PassResult(graph, False)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    batch_size = int(batch_size)
    rewriter = GraphRewriter(graph)
    inputs = []
    for value in graph.inputs:
        shape = tuple(batch_size if d == BATCH else d for d in value.type.shape)
        fixed = Value(TensorType(value.dtype, shape), value.name)
        rewriter.replace(value, fixed)
        inputs.append(fixed)
    rewriter.graph.inputs = inputs
    for node in graph.nodes:
        rewriter.copy(node)
    return PassResult(rewriter.finish(), True)
