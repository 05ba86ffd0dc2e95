"""The lowered ONNX graph's clean-up (`kgraph/lowering/onnx/cleanup.py`): weight layouts folded under the weight's
name, zero recurrent states dropped, duplicates merged, dead nodes gone; ONNX Runtime's outputs unchanged."""

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import kgraph
from kgraph.export import check_onnx
from kgraph.lowering.onnx import lower_to_onnx
from kgraph.lowering.onnx.cleanup import clean_up
from pass_checks import inputs_for, model_graph, randomize

L = kgraph.layers


def _run(model: onnx.ModelProto, feeds: dict) -> list:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _lowered(model):
    randomize(model, np.random.default_rng(0))
    graph, params = model_graph(model)
    feeds = {v.name: x for v, x in zip(graph.inputs, inputs_for(graph, np.random.default_rng(1)))}
    return lower_to_onnx(graph, params), feeds


def _check_same(model: onnx.ModelProto, feeds: dict) -> onnx.ModelProto:
    before = _run(model, feeds)
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    cleaned = clean_up(copy)
    check_onnx(cleaned)
    for got, expected in zip(_run(cleaned, feeds), before):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    return cleaned


def test_kernel_layouts_fold_into_the_weights_own_initializer_once_even_when_shared():
    inputs = kgraph.Input((6, 6, 3))
    conv = L.Conv2D(4, 3, padding="same", name="conv")
    model = kgraph.Model(inputs, L.Add()([conv(inputs), conv(inputs * 2.0)]))
    proto, feeds = _lowered(model)
    assert [n.op_type for n in proto.graph.node].count("Transpose") > 4
    cleaned = _check_same(proto, feeds)
    kernels = [t for t in cleaned.graph.initializer if t.name.startswith("conv/kernel")]
    assert [(t.name, list(t.dims)) for t in kernels] == [("conv/kernel", [4, 3, 3, 3])]
    assert [n.op_type for n in cleaned.graph.node].count("Transpose") == 4  # the data's, around each conv


def test_recurrent_weights_fold_and_zero_initial_states_are_dropped():
    model = kgraph.Sequential([kgraph.Input((5, 3)), L.LSTM(4, return_sequences=True), L.GRU(2)])
    proto, feeds = _lowered(model)
    cleaned = _check_same(proto, feeds)
    ops = [n.op_type for n in cleaned.graph.node]
    assert {"Gather", "ConstantOfShape", "ReduceSum", "Concat"}.isdisjoint(ops)
    for node in cleaned.graph.node:
        if node.op_type in ("LSTM", "GRU"):
            assert len(node.input) == 4, node.input


def test_masked_recurrent_scan_keeps_the_weights_its_body_reads():
    inputs = kgraph.Input((5, 3))
    model = kgraph.Model(inputs, L.GRU(3)(L.Masking(0.0)(inputs)))
    proto, feeds = _lowered(model)
    feeds = {k: np.where(np.arange(5)[None, :, None] < 3, v, 0.0).astype("float32") for k, v in feeds.items()}
    cleaned = _check_same(proto, feeds)
    assert "Scan" in [n.op_type for n in cleaned.graph.node]


def test_duplicates_merge_dead_nodes_go_and_growth_is_not_stored():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])
    inits = [numpy_helper.from_array(np.float32(2.0), "two"), numpy_helper.from_array(np.array([512, 4]), "shape")]
    nodes = [
        helper.make_node("Mul", ["x", "two"], ["a"]), helper.make_node("Mul", ["x", "two"], ["b"]),
        helper.make_node("Add", ["a", "b"], ["y"]), helper.make_node("Exp", ["x"], ["unused"]),
        helper.make_node("Expand", ["two", "shape"], ["big"]),
    ]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    cleaned = _check_same(model, {"x": np.arange(8, dtype="float32").reshape(2, 4)})
    assert [n.op_type for n in cleaned.graph.node] == ["Mul", "Add"]
    assert [t.name for t in cleaned.graph.initializer] == ["two"]

    keep = helper.make_graph(nodes[4:5], "g", [], [helper.make_tensor_value_info("big", TensorProto.FLOAT, None)],
                             inits)
    grown = clean_up(helper.make_model(keep, opset_imports=[helper.make_opsetid("", 17)], ir_version=8))
    assert [n.op_type for n in grown.graph.node] == ["Expand"]
