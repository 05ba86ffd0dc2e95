"""The IR's data structures, verifier, printer and pass manager."""

import pytest

from kgraph.ir import Graph, PassManager, ShapeError, TensorType, VerificationError, get_op
from kgraph.ir.passes import dead_code_elimination


def _mlp_graph():
    g = Graph("mlp")
    x = g.add_input(TensorType("float32", ("batch", 4)), "x")
    w = g.add_param(TensorType("float32", (4, 3)), "dense/kernel")
    b = g.add_param(TensorType("float32", (3,)), "dense/bias")
    mm = g.add_node("matmul", [x, w], {}, [TensorType("float32", ("batch", 3))], "dense").outputs[0]
    add = g.add_node("add", [mm, b], {}, [TensorType("float32", ("batch", 3))], "dense").outputs[0]
    out = g.add_node("relu", [add], {}, [TensorType("float32", ("batch", 3))], "dense").outputs[0]
    g.outputs = [out]
    return g, x, w, b, mm, add, out


def test_verify_accepts_a_well_formed_graph():
    """A graph whose every output is typed by its op's inference verifies, multi-output nodes, losses and state
    updates included; the same graph with one dim of one value changed does not, so acceptance means a check."""
    g, x, w, b, mm, add, out = _mlp_graph()
    split = g.add_node("split", [out], {"sizes": (1, 2), "axis": 1}, get_op("split").infer_types(
        [out.type], get_op("split").resolve_attrs({"sizes": (1, 2), "axis": 1})), "heads")
    loss = g.add_node("mean", [split.outputs[1]], {"axis": None, "keepdims": False},
                      [TensorType("float32", ())], "loss").outputs[0]
    g.outputs, g.losses, g.updates = [out, split.outputs[0]], [loss], {"dense/bias": b}
    assert g.verify() is None
    assert [t.shape for t in (v.type for v in split.outputs)] == [("batch", 1), ("batch", 2)]
    split.outputs[1].type = TensorType("float32", ("batch", 3))
    with pytest.raises(VerificationError, match=r"node 'heads' \(split\): outputs typed"):
        g.verify()


def test_verify_rejects_use_before_definition():
    g, x, w, b, mm, add, out = _mlp_graph()
    g.nodes = [g.nodes[1], g.nodes[0], g.nodes[2]]
    with pytest.raises(VerificationError, match="used before it is defined"):
        g.verify()


def test_verify_rejects_a_wrong_output_type():
    g, *_ = _mlp_graph()
    g.nodes[2].outputs[0].type = TensorType("float32", ("batch", 4))
    with pytest.raises(VerificationError, match="the op infers"):
        g.verify()


def test_verify_rejects_an_undefined_result_and_unknown_update():
    g, x, w, b, mm, add, out = _mlp_graph()
    g.updates["nope"] = out
    with pytest.raises(VerificationError, match="not a parameter"):
        g.verify()


def test_printer_lists_each_node_with_types_and_layer_names():
    g, *_ = _mlp_graph()
    text = str(g)
    assert "%x: float32[batch, 4]" in text
    assert "%dense/kernel: float32[4, 3]" in text
    assert "matmul(%x, %dense/kernel)" in text
    assert "# dense" in text
    assert text.strip().endswith("}")
    assert len([l for l in text.splitlines() if " = " in l]) == 3


def test_dce_drops_unused_nodes_and_params():
    g, x, w, b, mm, add, out = _mlp_graph()
    unused = g.add_param(TensorType("float32", (3,)), "other/bias")
    g.add_node("exp", [unused], {}, [TensorType("float32", (3,))])
    g.outputs = [mm]
    result = dead_code_elimination(g)
    assert result.modified
    result.graph.verify()
    assert [n.op for n in result.graph.nodes] == ["matmul"]
    assert [p.name for p in result.graph.params] == ["dense/kernel"]
    again = dead_code_elimination(result.graph)
    assert not again.modified and again.graph.nodes == result.graph.nodes


def test_pass_manager_dumps_ir_after_each_pass(tmp_path):
    g, *_ = _mlp_graph()
    trace = []
    PassManager(["dce"], verify=True, dump_dir=str(tmp_path)).run(g, trace)
    assert [name for name, _ in trace] == ["dce"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.00.input.txt", "mlp.01.dce.txt"]


def test_unknown_pass_and_op_are_named():
    with pytest.raises(ValueError, match="unknown pass 'fold'"):
        PassManager(["fold"])
    with pytest.raises(KeyError, match="unknown op 'conv9d'"):
        get_op("conv9d")


@pytest.mark.parametrize("a,b,expected", [
    (("batch", 4), (4,), ("batch", 4)),
    (("batch", 1), (1, 5), ("batch", 5)),
    ((3, 1), (1, 4), (3, 4)),
    (("batch", 4), ("batch", 1), ("batch", 4)),
])
def test_broadcast_inference(a, b, expected):
    (t,) = get_op("add").infer_types([TensorType("float32", a), TensorType("float32", b)], {})
    assert t.shape == expected


def test_shape_errors_name_the_shapes():
    with pytest.raises(ShapeError, match=r"\(3, 4\).*\(5,\)"):
        get_op("add").infer_types([TensorType("float32", (3, 4)), TensorType("float32", (5,))], {})
    with pytest.raises(ShapeError, match="contracting"):
        get_op("matmul").infer_types([TensorType("float32", ("batch", 4)), TensorType("float32", (5, 3))], {})
    with pytest.raises(ShapeError, match="one dtype"):
        get_op("add").infer_types([TensorType("float32", (3,)), TensorType("int32", (3,))], {})


def test_reshape_infers_symbolic_and_static_dims():
    op = get_op("reshape")
    x = TensorType("float32", ("batch", 28, 28))
    assert op.infer_types([x], {"shape": (0, -1)})[0].shape == ("batch", 784)
    assert op.infer_types([x], {"shape": (-1, 28)})[0].shape == ("batch*28", 28)
    with pytest.raises(ShapeError, match="cannot reshape"):
        op.infer_types([TensorType("float32", (2, 3))], {"shape": (4, 2)})


def test_tensor_type_validates():
    with pytest.raises(TypeError, match="dtype"):
        TensorType("float8", (1,))
    with pytest.raises(ValueError, match="dims"):
        TensorType("float32", (-1,))
    assert TensorType("float32", ("batch", 3)).keras_shape() == (None, 3)
    assert str(TensorType("int32", ())) == "int32[]"
