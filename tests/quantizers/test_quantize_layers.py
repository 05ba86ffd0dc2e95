"""`quantize("int8")` of Dense, EinsumDense and Embedding against Keras 3 (JAX backend) on identical float
weights: the int8 weights and scales, outputs, `.keras` files both ways, training after quantization, and the
ONNX export of the int8 model in ONNX Runtime against XLA."""

import warnings

import keras
import numpy as np
import onnx
import onnxruntime as ort
import pytest

import kgraph

rng = np.random.default_rng(3)
X = rng.normal(size=(8, 6)).astype("float32")
IDS = rng.integers(0, 12, size=(8, 4)).astype("int32")
Y = rng.normal(size=(8, 3)).astype("float32")


def _model(lib):
    ids, features = lib.Input((4,), dtype="int32"), lib.Input((6,))
    embedded = lib.layers.Flatten()(lib.layers.Embedding(12, 5)(ids))
    hidden = lib.layers.Dense(7, activation="relu")(features)
    sequence = lib.layers.Reshape((1, 7))(hidden)
    mixed = lib.layers.Flatten()(lib.layers.EinsumDense("abc,cd->abd", (1, 4), bias_axes="d")(sequence))
    outputs = lib.layers.Dense(3)(lib.layers.Concatenate()([embedded, mixed]))
    return lib.Model([ids, features], outputs)


def _pair():
    theirs, ours = _model(keras), _model(kgraph)
    ours.set_weights(theirs.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.quantize("int8")
        ours.quantize("int8")
    return theirs, ours


@pytest.fixture(scope="module")
def quantized_pair():
    return _pair()


def test_quantized_weights_match_keras_in_name_order_shape_and_value(quantized_pair):
    theirs, ours = quantized_pair
    assert [(v.name, v.dtype, tuple(v.shape), v.trainable) for v in ours.weights] == \
        [(v.name, v.dtype, tuple(v.shape), v.trainable) for v in theirs.weights]
    assert all(v.path.endswith(f"/{v.name}") and v.path.count("/") == 1 for v in ours.weights)
    for want, got in zip(theirs.get_weights(), ours.get_weights()):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    names = {v.path.split("/")[-1] for v in ours.weights}
    assert {"kernel_scale", "embeddings_scale"} <= names


def test_quantized_outputs_and_configs_match_keras(quantized_pair):
    theirs, ours = quantized_pair
    np.testing.assert_allclose(ours.predict([IDS, X], verbose=0), theirs.predict([IDS, X], verbose=0),
                               rtol=1e-5, atol=1e-6)
    for ours_layer, their_layer in zip(ours.layers, theirs.layers):
        if their_layer.quantization_mode is not None:
            assert ours_layer.dtype_policy.name == "int8_from_float32"
            # default names come from each framework's process-wide counters, which other tests advance
            assert {**ours_layer.get_config(), "name": None} == {**their_layer.get_config(), "name": None}


def test_keras_files_of_quantized_models_cross_both_ways(quantized_pair, tmp_path):
    theirs, ours = quantized_pair
    theirs.save(tmp_path / "keras.keras")
    ours.save(tmp_path / "kgraph.keras")
    loaded_by_us = kgraph.saving.load_model(tmp_path / "keras.keras")
    loaded_by_keras = keras.saving.load_model(tmp_path / "kgraph.keras")
    want = theirs.predict([IDS, X], verbose=0)
    np.testing.assert_allclose(loaded_by_us.predict([IDS, X], verbose=0), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded_by_keras.predict([IDS, X], verbose=0), want, rtol=1e-5, atol=1e-6)
    assert [v.dtype for v in loaded_by_us.weights] == [v.dtype for v in theirs.weights]


def test_fit_after_quantize_trains_what_keras_trains():
    theirs, ours = _pair()
    theirs.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    ours.compile(optimizer=kgraph.optimizers.SGD(0.05), loss="mse")
    want = theirs.fit([IDS, X], Y, epochs=2, batch_size=4, shuffle=False, verbose=0).history["loss"]
    got = ours.fit([IDS, X], Y, epochs=2, batch_size=4, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for variable, their_value, our_value in zip(ours.weights, theirs.get_weights(), ours.get_weights()):
        np.testing.assert_allclose(our_value, their_value, rtol=1e-5, atol=1e-6, err_msg=variable.path)
    first_dense = next(layer for layer in ours.layers if isinstance(layer, kgraph.layers.Dense))
    assert np.abs(first_dense.bias.numpy()).max() > 0, "the gradient reaches layers below the int8 matmuls"


def test_int8_dense_exports_to_onnx_with_integer_matmul_and_a_smaller_file(tmp_path):
    model = kgraph.Sequential([kgraph.Input((64,)), kgraph.layers.Dense(128, activation="relu"),
                               kgraph.layers.Dense(10)])
    x = rng.normal(size=(5, 64)).astype("float32")
    model.export(tmp_path / "float.onnx")
    model.quantize("int8")
    model.export(tmp_path / "int8.onnx")
    ops_used = {node.op_type for node in onnx.load(tmp_path / "int8.onnx").graph.node}
    assert "MatMulInteger" in ops_used and "MatMul" not in ops_used
    session = ort.InferenceSession(str(tmp_path / "int8.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert (tmp_path / "int8.onnx").stat().st_size < 0.4 * (tmp_path / "float.onnx").stat().st_size


def _dense(units=3, input_dim=4):
    layer = kgraph.layers.Dense(units)
    layer.build((None, input_dim))
    return layer


def test_weight_only_config_matches_keras():
    config_ours = kgraph.quantizers.Int8QuantizationConfig(activation_quantizer=None)
    config_theirs = keras.quantizers.Int8QuantizationConfig(activation_quantizer=None)
    ours, theirs = _dense(), keras.layers.Dense(3)
    theirs.build((None, 4))
    ours.set_weights(theirs.get_weights())
    ours.quantize("int8", config=config_ours)
    theirs.quantize("int8", config=config_theirs)
    np.testing.assert_allclose(np.asarray(ours(X[:, :4])), np.asarray(theirs(X[:, :4])), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("block_size", [-1, 4])
def test_int4_dense_matches_keras_in_weights_outputs_files_and_fit(block_size, tmp_path):
    x, y = X[:, :6], Y[:, :2]
    theirs = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="relu"), keras.layers.Dense(2)])
    ours = kgraph.Sequential([kgraph.Input((6,)), kgraph.layers.Dense(5, activation="relu"), kgraph.layers.Dense(2)])
    ours.set_weights(theirs.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.quantize("int4", config=keras.quantizers.Int4QuantizationConfig(block_size=block_size))
        ours.quantize("int4", config=kgraph.quantizers.Int4QuantizationConfig(block_size=block_size))
    assert ours.layers[0].dtype_policy.name == theirs.layers[0].dtype_policy.name
    assert [(v.name, v.dtype, tuple(v.shape)) for v in ours.weights] == \
        [(v.name, v.dtype, tuple(v.shape)) for v in theirs.weights]
    for want, got in zip(theirs.get_weights(), ours.get_weights()):
        np.testing.assert_array_equal(got, want)
    want = theirs.predict(x, verbose=0)
    np.testing.assert_allclose(ours.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    theirs.save(tmp_path / "keras.keras")
    ours.save(tmp_path / "kgraph.keras")
    np.testing.assert_allclose(kgraph.saving.load_model(tmp_path / "keras.keras").predict(x, verbose=0), want,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "kgraph.keras").predict(x, verbose=0), want,
                               rtol=1e-5, atol=1e-6)
    theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    ours.compile(optimizer=kgraph.optimizers.SGD(0.1), loss="mse")
    np.testing.assert_allclose(ours.fit(x, y, epochs=2, verbose=0).history["loss"],
                               theirs.fit(x, y, epochs=2, verbose=0).history["loss"], rtol=1e-5)
    ours.export(tmp_path / "int4.onnx")
    session = ort.InferenceSession(str(tmp_path / "int4.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {session.get_inputs()[0].name: x})[0], ours.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("block_size", [-1, 4])
def test_int4_embedding_matches_keras_in_weights_outputs_and_files(block_size, tmp_path):
    theirs = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(12, 10)])
    ours = kgraph.Sequential([kgraph.Input((4,), dtype="int32"), kgraph.layers.Embedding(12, 10)])
    ours.set_weights(theirs.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.quantize("int4", config=keras.quantizers.Int4QuantizationConfig(block_size=block_size))
        ours.quantize("int4", config=kgraph.quantizers.Int4QuantizationConfig(block_size=block_size))
    assert [(v.name, v.dtype, tuple(v.shape)) for v in ours.weights] == \
        [(v.name, v.dtype, tuple(v.shape)) for v in theirs.weights]
    for want, got in zip(theirs.get_weights(), ours.get_weights()):
        np.testing.assert_array_equal(got, want)
    want = theirs.predict(IDS, verbose=0)
    np.testing.assert_allclose(ours.predict(IDS, verbose=0), want, rtol=1e-5, atol=1e-6)
    theirs.save(tmp_path / "keras.keras")
    np.testing.assert_allclose(kgraph.saving.load_model(tmp_path / "keras.keras").predict(IDS, verbose=0), want,
                               rtol=1e-5, atol=1e-6)


def test_modes_kgraph_does_not_implement_are_refused_by_name():
    layer = _dense()
    with pytest.raises(NotImplementedError, match="'float8'.*supported modes: \\('int8', 'int4'\\)"):
        layer.quantize("float8")
    assert layer.kernel.dtype == "float32" and layer.quantization_mode is None
    einsum = kgraph.layers.EinsumDense("ab,bc->ac", 3)
    einsum.build((None, 4))
    with pytest.raises(NotImplementedError, match="'int4'.*supported modes: \\('int8',\\)"):
        einsum.quantize("int4")
    model = kgraph.Sequential([kgraph.Input((4,)), kgraph.layers.Dense(3)])
    with pytest.raises(NotImplementedError, match="'float8'"):
        model.quantize("float8")


def test_policies_of_unimplemented_modes_load_but_refuse_to_build():
    layer = kgraph.layers.EinsumDense("ab,bc->ac", 2, dtype="int4/128_from_float32")
    assert layer.dtype_policy.block_size == 128
    with pytest.raises(NotImplementedError, match="'int4'"):
        layer.build((None, 4))
    with pytest.raises(NotImplementedError, match="'gptq'"):
        kgraph.layers.Dense(2, dtype="gptq/4/128_from_float32").build((None, 4))


def test_quantize_errors_name_the_problem():
    with pytest.raises(ValueError, match="isn't yet built"):
        kgraph.layers.Dense(2).quantize("int8")
    layer = _dense()
    layer.quantize("int8")
    with pytest.raises(ValueError, match="already quantized"):
        layer.quantize("int8")
    with pytest.raises(ValueError, match="Invalid quantization mode"):
        _dense().quantize("int3")
    with pytest.raises(ValueError, match="Contradictory"):
        _dense().quantize("int8", config=kgraph.quantizers.Float8QuantizationConfig())
    with pytest.raises(ValueError, match="quantization_config"):
        kgraph.layers.Dense(2, quantization_config="int8")


def test_setting_a_quantized_policy_quantizes_and_filters_pick_layers():
    layer = _dense()
    layer.dtype_policy = "int8_from_float32"
    assert layer.kernel.dtype == "int8" and layer.kernel_scale.shape == (3,)
    model = kgraph.Sequential([kgraph.Input((4,)), kgraph.layers.Dense(3, name="keep"),
                               kgraph.layers.Dense(2, name="quant")])
    model.quantize("int8", filters="quant")
    assert [layer.quantization_mode for layer in model.layers] == [None, "int8"]


@pytest.mark.slow
@pytest.mark.parametrize("equation,output_shape,bias_axes,input_shape", [
    ("abc,cde->abde", (3, 2, 4), "de", (3, 5)),
    ("abc,bcd->ad", 4, None, (3, 5)),
    ("abcd,cde->abe", (3, 4), "e", (3, 2, 5)),
])
def test_int8_einsum_dense_scale_layout_and_outputs_match_keras(equation, output_shape, bias_axes, input_shape):
    x = rng.normal(size=(3,) + input_shape).astype("float32")
    theirs = keras.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes)
    theirs.build((None,) + input_shape)
    ours = kgraph.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes)
    ours.build((None,) + input_shape)
    ours.set_weights(theirs.get_weights())
    theirs.quantize("int8")
    ours.quantize("int8")
    assert [(v.name, v.dtype, tuple(v.shape)) for v in ours.weights] == \
        [(v.name, v.dtype, tuple(v.shape)) for v in theirs.weights]
    for want, got in zip(theirs.get_weights(), ours.get_weights()):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-6)


def test_quantizing_a_trained_model_restarts_its_optimizer_with_a_warning():
    model = kgraph.Sequential([kgraph.Input((6,)), kgraph.layers.Dense(5, activation="relu"), kgraph.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, Y, epochs=1, batch_size=4, verbose=0)
    with pytest.warns(UserWarning, match="optimizer's state .* is reset"):
        model.quantize("int8")
    biases = [layer.bias.numpy().copy() for layer in model.layers]
    losses = model.fit(X, Y, epochs=2, batch_size=4, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and model.optimizer.iterations == 4
    assert all(not np.array_equal(before, layer.bias.numpy()) for before, layer in zip(biases, model.layers))
    assert [v.dtype for v in model.trainable_weights] == ["float32", "float32"]
