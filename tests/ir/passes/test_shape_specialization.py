"""Shape specialization: a fixed batch size flows through every type, and what only needed the shape then folds."""

import numpy as np

import kgraph
from kgraph.export import to_onnx, verify_onnx
from kgraph.ir.passes import shape_specialization
from pass_checks import check_preserves, model_graph, ops

L = kgraph.layers


def test_the_batch_dim_becomes_the_size_asked_for_and_derived_dims_follow():
    inputs = kgraph.Input((3,))
    x = kgraph.ops.reshape(L.RepeatVector(2)(inputs), (-1, 3))
    graph, params = model_graph(kgraph.Model(inputs, x))
    assert graph.outputs[0].type.shape[0] != 4
    result = shape_specialization(graph, batch_size=4).graph
    result.verify()
    assert result.inputs[0].type.shape == (4, 3) and result.outputs[0].type.shape == (8, 3)
    assert shape_specialization(graph).graph is graph and graph.inputs[0].type.shape == ("batch", 3)


def test_recurrent_zero_states_fold_once_the_batch_is_fixed_and_onnx_omits_them():
    model = kgraph.Sequential([kgraph.Input((5, 3)), L.LSTM(4)])
    graph, params = model_graph(model)
    rng = np.random.default_rng(0)
    result = check_preserves(graph, ["shape_specialization", "constant_folding", "dce"], params, rng, batch_size=3)
    assert ops(result) == ["constant", "lstm"]
    for batch_size in (None, 3):
        proto = to_onnx(model, batch_size=batch_size)
        verify_onnx(model, proto)
        (lstm,) = [n for n in proto.graph.node if n.op_type == "LSTM"]
        assert len(lstm.input) == 4  # X, W, R, B: no initial states, ONNX's zeros
