"""Common-subexpression elimination: repeated ops share one node; random ops never merge."""

import numpy as np

from kgraph import ops
from kgraph.ir import TensorType
from kgraph.ir.passes import common_subexpression_elimination
from kgraph.tracing import Trace
from pass_checks import check_preserves


def test_repeated_subexpressions_and_equal_constants_are_computed_once():
    w = np.arange(12, dtype="float32").reshape(4, 3)
    with Trace("g") as t:
        x = t.input(TensorType("float32", ("batch", 4)), "x")
        a = ops.tanh(ops.matmul(x, w))
        b = ops.tanh(ops.matmul(x, w.copy()))
        t.graph.outputs = [ops.add(a, b).ir_value, ops.multiply(ops.matmul(x, w), 2.0).ir_value]
    graph = check_preserves(t.graph, ["cse"])
    assert [n.op for n in graph.nodes].count("matmul") == 1
    assert [n.op for n in graph.nodes].count("tanh") == 1
    assert [n.op for n in graph.nodes].count("constant") == 2  # w and 2.0


def test_attributes_distinguish_nodes_and_random_ops_stay_apart():
    with Trace("g") as t:
        x = t.input(TensorType("float32", ("batch", 4, 6)), "x")
        s1, s2 = ops.sum(x, axis=1), ops.sum(x, axis=2)
        key = t.rng().ir_value
        d1 = t.emit("dropout", [x, t.rng()], {"rate": 0.5, "seed": 1})
        d2 = t.emit("dropout", [x, t.rng()], {"rate": 0.5, "seed": 1})
        t.graph.outputs = [s1.ir_value, s2.ir_value, d1.ir_value, d2.ir_value]
    graph = common_subexpression_elimination(t.graph).graph
    assert [n.op for n in graph.nodes] == ["sum", "sum", "dropout", "dropout"]
    assert graph.rng is key
