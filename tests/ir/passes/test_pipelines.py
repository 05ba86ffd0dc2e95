"""The pipelines on a zoo of one small model per layer family: the export pipeline keeps the inference outputs
(1e-5) and ONNX Runtime matches XLA; the training pipeline leaves `fit` unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import kgraph
from kgraph.export import to_onnx, verify_onnx
from kgraph.ir.passes import EXPORT_PIPELINE, TRAINING_PIPELINE
from pass_checks import check_preserves, model_graph, randomize

L = kgraph.layers


def _seq(shape, *layers, dtype="float32"):
    return kgraph.Sequential([kgraph.Input(shape, dtype=dtype), *layers])


def _two(shape, body):
    a, b = kgraph.Input(shape), kgraph.Input(shape)
    return kgraph.Model([a, b], body(a, b))


def _attention(layer):
    def body(q, v):
        return layer(q, v) if isinstance(layer, L.MultiHeadAttention) else layer([q, v])
    return lambda: _two((5, 8), body)


def _with_norm():
    norm = L.Normalization(mean=[0.5, -1.0, 2.0], variance=[4.0, 0.25, 1.0])
    return _seq((6, 6, 3), L.Rescaling(1 / 255.0, offset=-0.5), norm, L.Resizing(4, 4), L.CenterCrop(3, 3))


ZOO = {
    "dense_activations": lambda: _seq((6,), L.Dense(8), L.ELU(), L.Dense(8), L.LeakyReLU(0.2), L.PReLU(),
                                      L.Dense(4), L.Softmax()),
    "conv2d_bn_pool": lambda: _seq((10, 10, 3), L.Conv2D(6, 3, padding="same"), L.BatchNormalization(), L.ReLU(),
                                   L.MaxPooling2D(), L.Conv2D(4, 3, strides=2), L.GlobalAveragePooling2D(), L.Dense(3)),
    "conv1d_transpose": lambda: _seq((12, 4), L.Conv1D(5, 3, dilation_rate=2, padding="causal"),
                                     L.Conv1DTranspose(3, 3, strides=2), L.AveragePooling1D(2), L.GlobalMaxPooling1D()),
    "conv3d": lambda: _seq((6, 6, 6, 2), L.Conv3D(3, 3, padding="same"), L.AveragePooling3D(2), L.Conv3DTranspose(2, 2),
                           L.GlobalAveragePooling3D()),
    "depthwise_separable": lambda: _seq((9, 9, 4), L.DepthwiseConv2D(3, depth_multiplier=2), L.BatchNormalization(),
                                        L.SeparableConv2D(5, 3, padding="same"),
                                        L.Conv2DTranspose(3, 3, strides=2, padding="same")),
    "reshaping": lambda: _seq((6, 6, 2), L.ZeroPadding2D(1), L.Cropping2D((2, 1)), L.UpSampling2D(2),
                              L.Permute((3, 1, 2)), L.Reshape((2, -1)), L.Flatten(), L.RepeatVector(2), L.Flatten(),
                              L.Dense(3)),
    "normalizations": lambda: _seq((4, 6, 8), L.LayerNormalization(), L.GroupNormalization(4), L.UnitNormalization(),
                                   L.BatchNormalization(axis=1), L.Dense(3)),
    "regularization": lambda: _seq((5, 6, 4), L.Dropout(0.3), L.SpatialDropout2D(0.2), L.GaussianNoise(0.1),
                                   L.GaussianDropout(0.2), L.ActivityRegularization(0.1), L.Dense(2)),
    "merging": lambda: _two((6,), lambda a, b: L.Dense(3)(L.Concatenate()([
        L.Add()([a, b]), L.Multiply()([a, b]), L.Subtract()([a, b]), L.Average()([a, b]), L.Maximum()([a, b]),
        L.Minimum()([a, b]), L.Dot(axes=1)([a, b])]))),
    "embedding_einsum": lambda: _seq((7,), L.Embedding(20, 6), L.EinsumDense("btd,de->bte", (None, 4), bias_axes="e"),
                                     L.GlobalAveragePooling1D(), dtype="int32"),
    "simple_rnn_bidirectional": lambda: _seq((6, 3), L.Bidirectional(L.SimpleRNN(4, return_sequences=True)),
                                             L.GRU(3, reset_after=False)),
    "lstm_gru": lambda: _seq((6, 3), L.LSTM(5, return_sequences=True), L.GRU(4), L.Dense(2)),
    "multi_head_attention": _attention(L.MultiHeadAttention(2, 4)),
    "dot_product_attention": _attention(L.Attention()),
    "additive_attention": _attention(L.AdditiveAttention()),
    "preprocessing": _with_norm,
}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_export_pipeline_on_the_layer_zoo(name):
    model = ZOO[name]()
    rng = np.random.default_rng(0)
    randomize(model, rng)
    graph, params = model_graph(model)
    check_preserves(graph, EXPORT_PIPELINE, params, rng)
    report = verify_onnx(model, to_onnx(model))
    assert report.max_abs_error <= 1e-5


def test_training_pipeline_leaves_fit_unchanged(monkeypatch):
    """`fit` with the training pipeline and with dead-code elimination alone: the same losses and weights, while the
    pipeline does shrink the graph (a layer called twice on one input, a zero offset, constant arithmetic)."""
    import kgraph.program as program

    sizes = []

    def run(pipeline):
        monkeypatch.setattr(program, "TRAINING_PIPELINE", pipeline)
        kgraph.utils.set_random_seed(3)
        inputs = kgraph.Input((6,))
        x = L.Rescaling(2.0, offset=0.0)(inputs)
        x = L.Dense(8, activation="relu")(x)
        x = L.BatchNormalization()(L.Dropout(0.2, seed=1)(x))
        shared = L.Dense(8)
        twice = L.Add()([shared(x), shared(x)])
        outputs = L.Dense(1)(L.LayerNormalization()(twice))
        model = kgraph.Model(inputs, outputs)
        randomize(model, np.random.default_rng(1))
        model.compile(optimizer="adam", loss="mse")
        data = np.random.default_rng(0).standard_normal((64, 6)).astype("float32")
        history = model.fit(data, data[:, :1], batch_size=16, epochs=2, shuffle=False, verbose=0)
        specs = program.input_specs_from_model(model)
        sizes.append(len(program.trace_model(model, specs, training=True).graph.nodes))
        return history.history["loss"], model.get_weights()

    losses, weights = run(TRAINING_PIPELINE)
    plain_losses, plain_weights = run(("dce",))
    assert sizes[0] < sizes[1]
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-5)
    for w, p in zip(weights, plain_weights):
        np.testing.assert_allclose(w, p, rtol=1e-5, atol=1e-6)
