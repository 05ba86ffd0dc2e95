"""Algebraic simplification: identities, neutral operands, transpose and reshape chains, cast chains."""

import numpy as np

from kgraph import ops
from kgraph.ir import TensorType
from kgraph.tracing import Trace
from pass_checks import check_preserves, ops as op_names


def _trace(build, shape=("batch", 4, 6), dtype="float32"):
    with Trace("g") as t:
        x = t.input(TensorType(dtype, shape), "x")
        out = build(t, x)
        t.graph.outputs = [o.ir_value for o in (out if isinstance(out, (list, tuple)) else [out])]
    return t.graph


def test_neutral_operands_and_identities_vanish_but_not_when_they_broadcast():
    def build(t, x):
        y = ops.add(ops.multiply(ops.divide(x, 1.0), t.constant(np.ones(6, "float32"))), 0.0)
        y = ops.subtract(t.emit("identity", [ops.negative(ops.negative(y))], {}), t.constant(np.zeros(6, "float32")))
        grown = ops.add(x, t.constant(np.zeros((2, 1, 1, 1), "float32")))  # broadcasts x up: kept
        return [ops.tanh(y), grown]

    graph = check_preserves(_trace(build), ["algebraic"])
    assert sorted(op_names(graph)) == ["add", "constant", "tanh"]
    assert graph.outputs[0].producer.inputs[0] is graph.inputs[0]


def test_transpose_pairs_cancel_and_chains_compose():
    def build(t, x):
        back = ops.transpose(ops.transpose(x, (0, 2, 1)), (0, 2, 1))
        chain = ops.transpose(ops.transpose(x, (1, 0, 2)), (0, 2, 1))
        return [ops.relu(back), chain]

    graph = check_preserves(_trace(build), ["algebraic"])
    assert sorted(op_names(graph)) == ["relu", "transpose"]
    assert tuple(graph.outputs[1].producer.attrs["perm"]) == (1, 2, 0)


def test_reshape_chains_become_one_reshape_and_round_trips_vanish():
    def build(t, x):
        flat = ops.reshape(x, (-1, 24))
        round_trip = ops.reshape(flat, (-1, 4, 6))
        twice = ops.reshape(ops.expand_dims(flat, 1), (-1, 2, 12))
        same = ops.reshape(x, (-1, 4, 6))
        return [ops.exp(round_trip), twice, ops.sin(same)]

    graph = check_preserves(_trace(build), ["algebraic"])
    assert sorted(op_names(graph)) == ["exp", "reshape", "sin"]
    assert graph.outputs[1].producer.inputs[0] is graph.inputs[0]


def test_cast_chains_collapse_only_through_exact_widenings():
    def build(t, x):
        widened = ops.cast(ops.cast(x, "float64"), "float16")   # float32 → float64 is exact: one cast
        narrowed = ops.cast(ops.cast(x, "float16"), "float32")  # float32 → float16 rounds: both stay
        same = ops.cast(ops.cast(x, "float32"), "float64")      # a cast to its own dtype vanishes
        return [widened, narrowed, same]

    graph = check_preserves(_trace(build), ["algebraic"])
    assert op_names(graph) == ["cast", "cast", "cast", "cast"]
    assert [n.attrs["dtype"] for n in graph.nodes] == ["float16", "float16", "float32", "float64"]


def test_a_bias_added_after_a_head_split_moves_before_it():
    def build(t, x):
        w = t.constant(np.ones((6, 8), "float32"))
        heads = ops.reshape(ops.matmul(x, w), (-1, 4, 2, 4))
        biased = ops.add(heads, t.constant(np.arange(8, dtype="float32").reshape(2, 4)))
        kept = ops.add(ops.reshape(x, (-1, 4, 2, 3)), t.constant(np.ones((4, 1, 1), "float32")))  # varies by row
        return [biased, kept]

    graph = check_preserves(_trace(build), ["algebraic"])
    biased = graph.outputs[0].producer
    assert biased.op == "reshape" and biased.inputs[0].producer.op == "add"
    np.testing.assert_array_equal(biased.inputs[0].producer.inputs[1].producer.attrs["value"], np.arange(8))
    assert graph.outputs[1].producer.op == "add"
