"""Inference specialization: Dropout gone, BatchNormalization folded into the Dense/Conv before it or reduced to one
scale-and-shift, with the outputs unchanged (1e-5)."""

import numpy as np
import pytest

import kgraph
from kgraph.ir.passes import inference_specialization
from pass_checks import check_preserves, model_graph, ops, randomize

L = kgraph.layers


def _model(input_shape, *layers):
    return kgraph.Sequential([kgraph.Input(input_shape), *layers])


@pytest.mark.parametrize("build,linear", [
    (lambda: _model((6,), L.Dense(5), L.BatchNormalization()), "matmul"),
    (lambda: _model((6,), L.Dense(5, use_bias=False), L.BatchNormalization(), L.Dropout(0.5)), "matmul"),
    (lambda: _model((7, 7, 3), L.Conv2D(4, 3), L.BatchNormalization()), "conv"),
    (lambda: _model((3, 7, 7), L.Conv2D(4, 3, data_format="channels_first"), L.BatchNormalization(axis=1)), "conv"),
    (lambda: _model((5, 5, 3), L.Conv2DTranspose(4, 3, strides=2), L.BatchNormalization()), "conv_transpose"),
    (lambda: _model((7, 7, 3), L.DepthwiseConv2D(3, depth_multiplier=2), L.BatchNormalization()), "conv"),
    (lambda: _model((9, 3), L.Conv1D(4, 3, padding="same"), L.BatchNormalization()), "conv"),
], ids=["dense", "dense_no_bias_dropout", "conv2d", "conv2d_channels_first", "conv2d_transpose", "depthwise",
        "conv1d"])
def test_batch_norm_folds_into_the_kernel_and_bias_before_it(build, linear):
    model = build()
    randomize(model, np.random.default_rng(0))
    graph, params = model_graph(model)
    folded = check_preserves(graph, ["constant_folding", "inference", "dce"], params)
    assert ops(folded).count(linear) == 1 and ops(folded).count("add") == 1
    assert "batch_normalization" not in ops(folded) and "dropout" not in ops(folded)
    assert not any("batch_normalization" in p.name for p in folded.params)


def test_batch_norm_without_a_linear_op_before_it_is_one_scale_and_shift():
    model = _model((4, 5), L.Activation("tanh"), L.BatchNormalization(axis=1), L.BatchNormalization())
    randomize(model, np.random.default_rng(1))
    graph, params = model_graph(model)
    folded = check_preserves(graph, ["inference"], params)
    assert ops(folded).count("multiply") == 2 and ops(folded).count("add") == 2
    assert "batch_normalization" not in ops(folded)


def test_a_dense_output_read_twice_keeps_its_kernel_and_batch_norm_scales_after_it():
    inputs = kgraph.Input((6,))
    hidden = L.Dense(5)(inputs)
    model = kgraph.Model(inputs, [L.BatchNormalization()(hidden), hidden])
    randomize(model, np.random.default_rng(2))
    graph, params = model_graph(model)
    folded = check_preserves(graph, ["inference"], params)
    assert ops(folded).count("matmul") == 1 and "multiply" in ops(folded)


def test_without_frozen_weights_batch_norm_stays_and_dropout_goes():
    model = _model((6,), L.Dense(5), L.BatchNormalization(), L.Dropout(0.5))
    graph, _ = model_graph(model)
    result = inference_specialization(graph).graph
    assert "batch_normalization" in ops(result)


def test_dropout_in_a_training_graph_is_removed_for_inference():
    from kgraph.program import input_specs_from_model, trace_model

    model = _model((6,), L.Dense(5), L.Dropout(0.5), L.GaussianNoise(0.1))
    graph = trace_model(model, input_specs_from_model(model), training=True).graph
    assert "dropout" in ops(graph)
    assert "dropout" not in ops(inference_specialization(graph).graph)
