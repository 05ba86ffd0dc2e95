"""Constant folding: each op's JAX rule evaluates it on constants, shape-only ops on static shapes, and frozen
weights."""

import numpy as np
import pytest

from kgraph import ops
from kgraph.ir import Graph, TensorType, get_op
from kgraph.ir.passes import PassManager, constant_folding
from kgraph.lowering.jax import lower_to_jax
from kgraph.tracing import Trace
from pass_checks import check_preserves, ops as op_names


def test_constant_subgraphs_fold_to_one_constant_with_the_ops_dtype():
    with Trace("g") as t:
        x = t.input(TensorType("float32", ("batch", 3)), "x")
        c = ops.reshape(ops.transpose(ops.multiply(t.constant(np.ones((3, 2), "float32")), 2.0)), (6,))
        scale = ops.sqrt(ops.add(ops.sum(c[:3]), 1.0))
        idx = ops.cast(ops.add(t.constant(np.arange(3, dtype="int32")), 1), "int16")
        t.graph.outputs = [ops.multiply(x, scale).ir_value, idx.ir_value]
    graph = check_preserves(t.graph, ["constant_folding"])
    assert sorted(op_names(graph)) == ["constant", "constant", "multiply"]
    assert graph.outputs[1].dtype == "int16"
    np.testing.assert_array_equal(graph.outputs[1].producer.attrs["value"], [1, 2, 3])
    scale = graph.outputs[0].producer.inputs[1].producer.attrs["value"]
    assert scale.dtype == np.float32 and scale == np.float32(np.sqrt(7))


def test_shape_arithmetic_folds_when_the_shape_is_static():
    with Trace("g") as t:
        x = t.input(TensorType("float32", (2, 3)), "x")
        y = t.input(TensorType("float32", ("batch", 3)), "y")
        static = ops.add(x, ops.full_like(x, 1.5))
        dynamic = ops.add(y, ops.full_like(y, 1.5))
        mask = t.emit("causal_mask", [x], {})
        t.graph.outputs = [static.ir_value, dynamic.ir_value, mask.ir_value]
    graph = check_preserves(t.graph, ["constant_folding"])
    assert sorted(op_names(graph)) == ["add", "add", "constant", "constant", "full_like"]
    np.testing.assert_array_equal(graph.outputs[2].producer.attrs["value"], [[1, 0, 0], [1, 1, 0]])


def test_frozen_parameters_fold_only_with_param_values_and_big_results_stay_computed():
    with Trace("g") as t:
        x = t.input(TensorType("float32", ("batch", 4)), "x")
        kernel = t.graph.add_param(TensorType("float32", (2, 2, 3)), "dense/kernel")
        from kgraph.tracing import SymbolicTensor

        k = ops.reshape(SymbolicTensor(t, kernel), (4, 3))
        big = ops.broadcast_to(t.constant(np.float32(2.0)), (300, 300))
        t.graph.outputs = [ops.matmul(x, k).ir_value, big.ir_value]
    params = {"dense/kernel": np.random.default_rng(0).standard_normal((2, 2, 3)).astype("float32")}
    assert sorted(op_names(constant_folding(t.graph).graph)) == ["broadcast_to", "constant", "matmul", "reshape"]
    graph = check_preserves(t.graph, ["constant_folding"], params)
    assert sorted(op_names(graph)) == ["broadcast_to", "constant", "constant", "matmul"]
    kernel = graph.outputs[0].producer.inputs[1].producer
    np.testing.assert_array_equal(kernel.attrs["value"], params["dense/kernel"].reshape(4, 3))


def _folding_cases():
    from kgraph.ir.ops.elementwise import ARITHMETIC, COMPARISON, LOGICAL, UNARY

    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 3)).astype("float32"), rng.uniform(0.5, 2, (2, 3)).astype("float32")
    cases = {
        "reshape": ([a], {"shape": (0, 3)}), "transpose": ([a], {"perm": (1, 0)}),
        "expand_dims": ([a], {"axis": 1}), "squeeze": ([a[:1]], {"axis": 0}),
        "concatenate": ([a, b], {"axis": 1}), "matmul": ([a, b.T], {}),
        "einsum": ([a, b], {"equation": "ij,ij->i"}), "cast": ([a], {"dtype": "int32"}),
        "clip": ([a], {"min": -0.5, "max": 0.5}), "take": ([a, np.array([1, 0], "int32")], {"axis": 1}),
        "slice": ([a], {"starts": (None, 1), "stops": (None, None), "steps": (1, 2)}),
        "pad": ([a], {"pad_width": ((1, 0), (0, 2)), "mode": "reflect", "constant_value": 0}),
        "tile": ([a], {"repeats": (2, 1)}), "repeat": ([a], {"repeats": 2, "axis": 0}),
        "broadcast_to": ([a[:1]], {"shape": (4, 2, 3)}), "split": ([a], {"sizes": (1, 2), "axis": 1}),
        "cumsum": ([a], {"axis": 1}), "softmax": ([a], {"axis": 1}), "where": ([a > 0, a, b], {}),
        "logical_not": ([a > 0], {}), "power": ([b, a], {}),
    }
    for op in UNARY:
        cases.setdefault(op, ([b if op in ("log", "sqrt", "rsqrt", "reciprocal", "log1p") else a], {}))
    for op in ARITHMETIC + COMPARISON:
        cases.setdefault(op, ([a, b], {}))
    for op in LOGICAL:
        cases[op] = ([a > 0, b > 1], {})
    for op in ("sum", "mean", "max", "min", "prod"):
        cases[op] = ([a], {"axis": (1,), "keepdims": False})
    return cases


def _graph_of(op: str, arrays, attrs) -> Graph:
    graph = Graph(op)
    constants = [graph.add_node("constant", [], {"value": x}, get_op("constant").infer_types([], {"value": x}))
                 .outputs[0] for x in arrays]
    opdef = get_op(op)
    resolved = opdef.resolve_attrs(attrs)
    node = graph.add_node(op, constants, resolved, opdef.infer_types([v.type for v in constants], resolved))
    graph.outputs = list(node.outputs)
    return graph


def _check_folds(op: str, arrays, attrs) -> None:
    graph = _graph_of(op, arrays, attrs)
    folded = PassManager(["constant_folding", "dce"], verify=True).run(graph)
    assert op_names(folded) == ["constant"] * len(graph.outputs), (op, op_names(folded))
    expected, _, _ = lower_to_jax(graph)({}, [])
    for value, e in zip(folded.outputs, expected):
        got = value.producer.attrs["value"]
        assert got.dtype == np.asarray(e).dtype, op
        np.testing.assert_array_equal(got, np.asarray(e), err_msg=op)


def test_ops_on_constants_fold_to_what_their_jax_rule_computes():
    """One op of each kind folds through its own JAX rule to exactly what the lowered graph computes."""
    cases = _folding_cases()
    for op in ("reshape", "concatenate", "matmul", "cast", "take", "pad", "split", "softmax", "sum", "where", "exp",
               "greater"):
        _check_folds(op, *cases[op])


@pytest.mark.slow
def test_every_op_the_numpy_table_folded_still_folds():
    """Each op a NumPy table of earlier versions folded (it is gone) still folds, through its JAX rule."""
    for op, (arrays, attrs) in _folding_cases().items():
        _check_folds(op, arrays, attrs)


def test_a_result_the_rule_types_otherwise_than_the_ir_stays_computed():
    """An int32 division is declared int32 but JAX divides to float: folding it would change the output's dtype."""
    graph = _graph_of("divide", [np.array([7, 9], "int32"), np.array([2, 4], "int32")], {})
    result = constant_folding(graph)
    assert not result.modified and op_names(result.graph) == ["constant", "constant", "divide"]
