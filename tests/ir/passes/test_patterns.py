"""Pattern lowering: Gemm, Conv with its bias, Resize for UpSampling, LayerNormalization kept apart from the residual
add; each with the same outputs through JAX and ONNX Runtime."""

import numpy as np
import pytest

import kgraph
from kgraph.export import to_onnx, verify_onnx
from kgraph.ir.passes import EXPORT_PIPELINE
from pass_checks import (assert_close, check_preserves, inputs_for, jax_outputs, model_graph, onnx_outputs, ops,
                         randomize)

L = kgraph.layers


def _model(input_shape, *layers):
    return kgraph.Sequential([kgraph.Input(input_shape), *layers])


def _export(model, opset=17):
    randomize(model, np.random.default_rng(0))
    proto = to_onnx(model, opset=opset)
    verify_onnx(model, proto)
    return [n.op_type for n in proto.graph.node]


def test_dense_layers_are_gemms_and_3d_dense_stays_matmul():
    assert _export(_model((6,), L.Dense(5, activation="relu"), L.Dense(3))) == ["Gemm", "Relu", "Gemm"]
    assert _export(_model((4, 6), L.Dense(5))) == ["MatMul", "Add"]


def test_conv_bias_is_the_convs_own_input():
    assert _export(_model((8, 8, 3), L.Conv2D(4, 3, activation="relu"), L.Conv2D(2, 1))) == [
        "Transpose", "Conv", "Relu", "Conv", "Transpose"]


def test_upsampling_is_one_resize_for_every_axis():
    graph, params = model_graph(_model((4, 5, 3), L.UpSampling2D((2, 3))))
    result = check_preserves(graph, ["patterns"], params)
    assert ops(result) == ["upsample_nearest"] and result.nodes[0].attrs["scales"] == (1, 2, 3, 1)
    assert _export(_model((4, 5, 3), L.Conv2D(2, 1), L.UpSampling2D(2))) == ["Transpose", "Conv", "Resize",
                                                                              "Transpose"]
    assert _export(_model((4, 6), L.UpSampling1D(3))) == ["Resize"]


def test_residual_layer_norm_is_not_a_skip_layer_norm_pattern():
    inputs = kgraph.Input((5, 8))
    x = L.LayerNormalization()(L.Add()([inputs, L.Dense(8)(inputs)]))
    model = kgraph.Model(inputs, x)
    names = _export(model)
    position = names.index("LayerNormalization")
    assert names[position - 1] == "Reshape" and names[position + 1] == "Reshape"


@pytest.mark.parametrize("opset", [13, 17, 21])
def test_patterns_hold_at_every_opset(opset):
    model = _model((6, 6, 2), L.Conv2D(3, 3, padding="same"), L.UpSampling2D(2), L.GlobalAveragePooling2D(),
                   L.Dense(4))
    names = _export(model, opset)
    assert names.count("Transpose") == 1 and "Gemm" in names and "Resize" in names


def test_patterns_keep_jax_numerics_and_onnx_agrees():
    model = _model((6, 6, 2), L.Conv2D(3, 3), L.UpSampling2D(2), L.Flatten(), L.Dense(4))
    randomize(model, np.random.default_rng(3))
    graph, params = model_graph(model)
    rng = np.random.default_rng(4)
    result = check_preserves(graph, ["patterns"], params, rng)
    assert {"conv_bias", "gemm", "upsample_nearest"} <= set(ops(result))
    inputs = inputs_for(graph, rng)
    assert_close(onnx_outputs(result, params, inputs), jax_outputs(graph, params, inputs))


def _mha(mask=False):
    query, value = kgraph.Input((6, 8)), kgraph.Input((5, 8))
    layer = L.MultiHeadAttention(2, 4)
    if mask:
        return kgraph.Model([query, value], layer(query, value, use_causal_mask=True))
    return kgraph.Model([query, value], layer(query, value))


def test_multi_head_attention_is_one_attention_node_from_opset_23():
    model = _mha()
    names = _export(model, opset=23)
    assert names.count("Attention") == 1 and "Softmax" not in names and "Transpose" not in names
    assert names.count("MatMul") == 4 and "Reshape" not in names
    assert "Attention" not in _export(model, opset=21)
    masked = _export(_mha(mask=True), opset=23)
    assert "Attention" not in masked and "Softmax" in masked


def test_attention_op_keeps_numerics_through_jax_and_both_onnx_forms():
    model = _mha()
    randomize(model, np.random.default_rng(6))
    graph, params = model_graph(model)
    rng = np.random.default_rng(7)
    result = check_preserves(graph, EXPORT_PIPELINE, params, rng, opset=23)
    assert "attention" in ops(result) and "softmax" not in ops(result)
    inputs = inputs_for(graph, rng)
    expected = jax_outputs(graph, params, inputs)
    for opset in (17, 23):  # below 23 the attention op's own rule spells it out in MatMul and Softmax
        assert_close(onnx_outputs(result, params, inputs, opset=opset), expected, f"opset {opset}")
