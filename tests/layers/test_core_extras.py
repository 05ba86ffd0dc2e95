"""EinsumDense, Embedding, Lambda, Masking, Identity: Keras parity (XLA, ONNX Runtime, gradients), masks, configs
(Lambda by reference or, when asked, as bytecode refused in safe mode), build-time errors, and the FAQ's feature
extraction from a Sequential model exported to ONNX."""

import keras
import numpy as np
import onnx
import pytest

import kgraph
from kgraph import ops
from tests.layers.config_parity import assert_config_matches_keras
from tests.layers.parity import check_layer
from tests.layers.test_merging import mask_as_float

rng = np.random.default_rng(0)
VEC = rng.normal(size=(4, 6)).astype("float32")
SEQ = rng.normal(size=(4, 5, 6)).astype("float32")
DEEP = rng.normal(size=(2, 3, 4, 6)).astype("float32")
TOKENS = rng.integers(0, 10, size=(4, 7)).astype("int32")
TOKENS[:, -2:] = 0
PADDED = SEQ.copy()
PADDED[0, 3:] = 0.0
PADDED[2, 1] = 0.0


def double(x):
    return x * 2.0


# (id, factory of the layer for a library, inputs)
CASES = [
    ("einsum_dense", lambda lib: lib.layers.EinsumDense("ab,bc->ac", 4, bias_axes="c"), [VEC]),
    ("einsum_dense_sequence", lambda lib: lib.layers.EinsumDense("abc,cd->abd", (None, 3), bias_axes="d",
                                                                   activation="relu"), [SEQ]),
    ("einsum_dense_left_ellipsis", lambda lib: lib.layers.EinsumDense("...b,bc->...c", 3, bias_axes="c"), [DEEP]),
    ("einsum_dense_right_ellipsis", lambda lib: lib.layers.EinsumDense("abc...,cd->abd...", (3, 2), bias_axes="b"),
     [DEEP]),
    ("einsum_dense_heads", lambda lib: lib.layers.EinsumDense("abc,cde->abde", (None, 2, 3), bias_axes="de"), [SEQ]),
    ("einsum_dense_no_bias", lambda lib: lib.layers.EinsumDense("abc,bcd->ad", 3), [SEQ]),
    ("embedding", lambda lib: lib.layers.Embedding(10, 3), [TOKENS]),
    ("embedding_float_indices", lambda lib: lib.layers.Embedding(10, 3), [TOKENS.astype("float32")]),
    ("embedding_mask_zero", lambda lib: lib.layers.Embedding(10, 3, mask_zero=True), [TOKENS]),
    ("lambda", lambda lib: lib.layers.Lambda(lambda x: lib.ops.square(x) - x), [SEQ]),
    ("lambda_arguments", lambda lib: lib.layers.Lambda(lambda x, k: x * k, arguments={"k": 3.0}), [SEQ]),
    ("masking", lambda lib: lib.layers.Masking(), [PADDED]),
    ("identity", lambda lib: lib.layers.Identity(), [SEQ]),
]


@pytest.mark.parametrize("name,factory,inputs", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_keras_xla_onnx_and_gradients(name, factory, inputs, tmp_path):
    check_layer(factory, inputs, tmp_dir=str(tmp_path))


@pytest.mark.parametrize("name,factory,inputs", [c for c in CASES if not c[0].startswith("lambda")],
                         ids=[c[0] for c in CASES if not c[0].startswith("lambda")])
def test_config_round_trip_and_weights_match_keras(name, factory, inputs):
    layer, theirs = factory(kgraph), factory(keras)
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    their_config = theirs.get_config()
    for key in set(config) - {"name", "dtype"}:
        if key.endswith("_initializer"):
            assert config[key]["class_name"] == their_config[key]["class_name"], key
        else:
            assert config[key] == their_config[key], key
    layer.build(inputs[0].shape)
    theirs.build(inputs[0].shape)
    assert [(w.path.split("/")[-1], w.shape) for w in layer.weights] == \
        [(w.path.split("/")[-1], tuple(w.shape)) for w in theirs.weights]


def _masked_model(lib, layer):
    inputs = lib.Input(shape=PADDED.shape[1:]) if layer != "embedding" else lib.Input(shape=(7,), dtype="int32")
    hidden = lib.layers.Masking()(inputs) if layer == "masking" else lib.layers.Embedding(10, 3, mask_zero=True)(inputs)
    hidden = lib.layers.Identity()(hidden)
    return lib.Model(inputs, [hidden, mask_as_float(lib)(hidden)])


@pytest.mark.parametrize("layer,x", [("masking", PADDED), ("embedding", TOKENS)])
def test_masks_match_keras_and_pass_through_identity(layer, x):
    ours, theirs = _masked_model(kgraph, layer), _masked_model(keras, layer)
    ours.set_weights(theirs.get_weights())
    for got, want in zip(ours.predict(x, verbose=0), theirs.predict(x, verbose=0)):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert 0 < ours.predict(x, verbose=0)[1].mean() < 1


def test_embedding_keeps_integer_inputs_integer_through_onnx_gather(tmp_path):
    inputs = kgraph.Input(shape=(7,), dtype="int32")
    model = kgraph.Model(inputs, kgraph.layers.Embedding(10, 3)(inputs))
    path = str(tmp_path / "embedding.onnx")
    model.export(path)
    proto = onnx.load(path)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT32
    assert [n.op_type for n in proto.graph.node] == ["Gather"]
    np.testing.assert_allclose(kgraph.runtime.OnnxModel(path).predict(TOKENS), model.predict(TOKENS, verbose=0))


def test_embedding_default_initializer_is_keras_uniform_and_weights_argument():
    layer = kgraph.layers.Embedding(10, 3)
    assert layer.get_config()["embeddings_initializer"]["class_name"] == "RandomUniform"
    table = rng.normal(size=(10, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(kgraph.layers.Embedding(10, 3, weights=table)(TOKENS)), table[TOKENS])
    with pytest.raises(ValueError, match="input_dim"):
        kgraph.layers.Embedding(0, 3)


def test_lambda_serializes_importable_functions_by_reference():
    layer = kgraph.layers.Lambda(double, output_shape=(5, 6))
    config = layer.get_config()
    assert config["function"] == {"module": __name__, "class_name": "function", "config": "double",
                                  "registered_name": "function"}
    clone = kgraph.layers.Lambda.from_config(config)
    assert clone.function is double and clone.output_shape == (5, 6)
    library = kgraph.layers.Lambda(ops.relu).get_config()["function"]
    assert kgraph.layers.Lambda.from_config({"function": library}).function is ops.relu


def test_lambda_bytecode_only_when_asked_and_refused_in_safe_mode():
    scale = 3.0
    layer = kgraph.layers.Lambda(lambda x: x * scale + 1.0, name="closure")
    with pytest.raises(ValueError, match="'closure'.*include_bytecode=True"):
        layer.get_config()
    config = layer.get_config(include_bytecode=True)
    assert config["function"]["class_name"] == "__lambda__"
    with pytest.raises(ValueError, match="safe_mode=False"):
        kgraph.layers.Lambda.from_config(config)
    clone = kgraph.layers.Lambda.from_config(config, safe_mode=False)
    np.testing.assert_allclose(np.asarray(clone(VEC)), VEC * 3.0 + 1.0, rtol=1e-6)


def test_lambda_passes_mask_and_training_and_computes_an_output_mask():
    seen = {}

    def record(x, mask=None, training=None):
        seen["mask"], seen["training"] = mask is not None, training
        return x + 1.0

    inputs = kgraph.Input(shape=(5, 6))
    masked = kgraph.layers.Masking()(inputs)
    out = kgraph.layers.Lambda(record, mask=lambda x, mask: mask)(masked)
    model = kgraph.Model(inputs, [out, mask_as_float(kgraph)(out)])
    values, mask = model.predict(PADDED, verbose=0)
    np.testing.assert_allclose(values, np.where(PADDED.any(-1, keepdims=True), PADDED, 0) + 1, rtol=1e-6)
    np.testing.assert_array_equal(mask, PADDED.any(-1))
    assert seen == {"mask": True, "training": False}
    assert getattr(kgraph.layers.Lambda(double)(masked), "_keras_mask", None) is None


@pytest.mark.parametrize("equation,output_shape,bias_axes,shape,match", [
    ("ab,bc", 4, None, (6,), r"'einsum_dense.*' \(EinsumDense\).*form"),
    ("abc,cd->abd", (3, 4), None, (5, 6), r"EinsumDense.*label 'b' size 3.*\(None, 5, 6\) give 5"),
    ("ab,bc->ac", 4, "d", (6,), r"EinsumDense.*bias_axes 'd'"),
    ("ab,bc->ac", 4, None, (5, 6), r"EinsumDense.*does not fit inputs of shape \(None, 5, 6\)"),
    ("ab,bcd->ac", 4, None, (6,), r"EinsumDense.*kernel label 'd'"),
])
def test_einsum_dense_bad_configs_fail_at_build_naming_layer_and_shapes(equation, output_shape, bias_axes, shape,
                                                                         match):
    with pytest.raises(ValueError, match=match):
        kgraph.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes)(kgraph.Input(shape=shape))


def test_feature_extraction_from_a_sequential_model_exports_to_onnx(tmp_path):
    model = kgraph.Sequential([
        kgraph.Input(shape=(5, 6)),
        kgraph.layers.Masking(),
        kgraph.layers.EinsumDense("abc,cd->abd", (None, 4), bias_axes="d", activation="relu"),
        kgraph.layers.Permute((2, 1)),
        kgraph.layers.Reshape((-1,)),
        kgraph.layers.Dense(3),
    ])
    extractor = kgraph.Model(inputs=model.inputs, outputs=[layer.output for layer in model.layers])
    features = extractor.predict(SEQ, verbose=0)
    assert [f.shape for f in features] == [(4, 5, 6), (4, 5, 4), (4, 4, 5), (4, 20), (4, 3)]
    np.testing.assert_allclose(features[-1], model.predict(SEQ, verbose=0), rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "features.onnx")
    extractor.export(path)
    for served, expected in zip(kgraph.runtime.OnnxModel(path).predict(SEQ), features):
        np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("factory", [
    lambda lib: lib.layers.Dense(3, kernel_constraint=lib.constraints.MaxNorm(2.0)),
    lambda lib: lib.layers.EinsumDense("ab,bc->ac", 3, kernel_constraint=lib.constraints.NonNeg(),
                                       activity_regularizer="l2"),
    lambda lib: lib.layers.Embedding(3, 4, embeddings_constraint="non_neg"),
], ids=["dense", "einsum_dense", "embedding"])
def test_dense_family_configs_serialize_constraints_and_quantization_as_keras(factory):
    assert_config_matches_keras(factory)


@pytest.mark.parametrize("factory", [
    lambda **kw: kgraph.layers.Dense(3, **kw),
    lambda **kw: kgraph.layers.EinsumDense("ab,bc->ac", 3, **kw),
    lambda **kw: kgraph.layers.Embedding(3, 4, **kw),
], ids=["dense", "einsum_dense", "embedding"])
@pytest.mark.parametrize("argument,message", [
    ("lora_rank", "`lora_rank` is not supported by kgraph.*lora_rank=4"),
    ("quantization_config", "`quantization_config` must be a `kgraph.quantizers.QuantizationConfig`.*=4"),
])
def test_lora_and_bad_quantization_configs_are_refused_by_name_not_ignored(factory, argument, message):
    with pytest.raises(ValueError, match=message):
        factory(**{argument: 4})
