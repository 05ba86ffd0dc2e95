"""Layout: channels-last at the API, channels-first inside; a CNN keeps at most one transpose at each boundary,
in the IR and in the ONNX file, and its outputs do not move."""

import numpy as np
import pytest

import kgraph
from kgraph.ir.passes import EXPORT_PIPELINE, layout_transposes
from pass_checks import (assert_close, check_preserves, inputs_for, jax_outputs, model_graph, onnx_outputs, ops,
                         randomize)

L = kgraph.layers


def _functional(shape, body):
    inputs = kgraph.Input(shape)
    return kgraph.Model(inputs, body(inputs))


def _residual(x):
    y = L.Conv2D(4, 3, padding="same", activation="relu")(x)
    y = L.Conv2D(4, 3, padding="same")(y)
    z = L.Add()([L.Conv2D(4, 1)(x), y])
    z = L.ZeroPadding2D(1)(L.BatchNormalization()(z))
    return L.AveragePooling2D(2)(L.Cropping2D(((1, 0), (0, 1)))(z))


def _branches(x):
    a = L.Conv2D(3, 1)(x)
    b = L.MaxPooling2D(3, 1, padding="same")(x)
    y = L.Concatenate()([a, b])
    return [L.Softmax(axis=-1)(L.UpSampling2D(2)(y)), L.GlobalMaxPooling2D(keepdims=True)(y)]


CASES = [
    # (id, model factory, transposes expected in the optimized IR)
    ("cnn_gap_dense", lambda: _functional((12, 12, 3), lambda x: L.Dense(5)(L.GlobalAveragePooling2D()(
        L.ReLU()(L.BatchNormalization()(L.Conv2D(8, 3)(L.MaxPooling2D()(L.Conv2D(6, 3, padding="same")(x)))))))), 1),
    ("fully_convolutional", lambda: _functional((10, 10, 3), _residual), 2),
    ("branches_concatenate", lambda: _functional((8, 8, 4), _branches), 3),
    ("flatten_dense", lambda: _functional((8, 8, 3), lambda x: L.Dense(4)(L.Flatten()(L.Conv2D(2, 3)(x)))), 1),
    ("conv1d_global_pool", lambda: _functional((20, 4), lambda x: L.GlobalAveragePooling1D()(
        L.Conv1D(6, 3, activation="tanh")(L.Conv1D(5, 3)(x)))), 1),
    ("conv3d", lambda: _functional((6, 6, 6, 2), lambda x: L.MaxPooling3D()(L.Conv3D(3, 3, padding="same")(x))), 2),
    ("channels_first", lambda: _functional((3, 8, 8), lambda x: L.MaxPooling2D(data_format="channels_first")(
        L.Conv2D(4, 3, data_format="channels_first")(x))), 0),
    ("layer_norm_on_channels", lambda: _functional((6, 6, 3), lambda x: L.LayerNormalization()(L.Conv2D(4, 3)(x))), 2),
]


@pytest.mark.parametrize("case_id,build,transposes", CASES, ids=[c[0] for c in CASES])
def test_transposes_only_at_the_boundaries_and_outputs_unchanged(case_id, build, transposes):
    model = build()
    rng = np.random.default_rng(0)
    randomize(model, rng)
    graph, params = model_graph(model)
    optimized = check_preserves(graph, EXPORT_PIPELINE, params, rng)
    assert ops(optimized).count("transpose") == transposes
    inputs = inputs_for(graph, rng)
    assert_close(onnx_outputs(optimized, params, inputs), jax_outputs(graph, params, inputs), case_id)


def test_each_window_op_becomes_channels_first_and_adjacent_transposes_cancel():
    model = CASES[0][1]()
    graph, params = model_graph(model)
    result = check_preserves(graph, ["layout"], params)
    windows = [n for n in result.nodes if n.op in ("conv", "max_pool")]
    assert len(windows) == 3 and all(n.attrs["data_format"] == "channels_first" for n in windows)
    assert ops(result).count("transpose") == 1
    mean = next(n for n in result.nodes if n.op == "mean")
    assert tuple(mean.attrs["axis"]) == (2, 3)
    bn = next(n for n in result.nodes if n.op == "batch_normalization")
    assert bn.attrs["axis"] == 1


def test_flatten_into_dense_permutes_the_kernel_rows_instead_of_transposing():
    model = CASES[3][1]()
    graph, params = model_graph(model)
    assert "transpose" in ops(layout_transposes(graph).graph)  # without frozen weights the kernel cannot move
    result = check_preserves(graph, ["layout"], params)
    assert ops(result).count("transpose") == 1
    kernel = next(n for n in result.nodes if n.op == "matmul").inputs[1].producer.attrs["value"]
    assert sorted(kernel[:, 0].tolist()) == sorted(params[graph.params[-2].name][:, 0].tolist())


def test_a_reshape_that_is_not_a_flatten_keeps_its_transpose():
    inputs = kgraph.Input((4, 4, 3))
    x = L.Conv2D(6, 1)(inputs)
    x = L.Dense(2)(kgraph.ops.reshape(x, (-1, 48)))  # two samples' rows per row: not a per-sample flatten
    model = kgraph.Model(inputs, x)
    randomize(model, np.random.default_rng(5))
    graph, params = model_graph(model)
    result = check_preserves(graph, EXPORT_PIPELINE, params)
    assert ops(result).count("transpose") == 2
