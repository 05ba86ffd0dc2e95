"""BatchNormalization, LayerNormalization, GroupNormalization, UnitNormalization: parity with Keras 3 (inference,
training, after fit), each normalization op's ONNX rule per opset, configs and build-time errors."""

import keras
import numpy as np
import onnxruntime as ort
import pytest

import kgraph
from kgraph import layers, ops
from kgraph.export import check_onnx
from kgraph.ir import TensorType, all_ops
from kgraph.lowering.jax import lower_to_jax
from kgraph.lowering.onnx import lower_to_onnx
from kgraph.ops.normalization import normalize_batch
from kgraph.tracing import Trace
from tests.layers.parity import check_layer

rng = np.random.default_rng(0)
X2 = (rng.normal(size=(6, 5)) * 2 + 1).astype("float32")
X3 = (rng.normal(size=(4, 5, 6)) * 3 - 1).astype("float32")
X4 = rng.normal(size=(2, 4, 3, 6)).astype("float32")

# Non-default initializers so that inference with copied weights is not the identity.
STATS = {"gamma_initializer": "random_normal", "beta_initializer": "random_normal",
         "moving_mean_initializer": "random_normal", "moving_variance_initializer": "random_uniform"}
AFFINE = {"gamma_initializer": "random_normal", "beta_initializer": "random_normal"}

BATCH_NORM = [
    ("last_axis", {}, X3),
    ("axis_1", {"axis": 1}, X3),
    ("rank_2", {}, X2),
    ("image_axis_2", {"axis": 2}, X4),
    ("no_center", {"center": False}, X3),
    ("no_scale", {"scale": False, "epsilon": 0.1}, X3),
]


@pytest.mark.parametrize("kwargs,x", [c[1:] for c in BATCH_NORM], ids=[c[0] for c in BATCH_NORM])
def test_batch_normalization_inference_matches_keras(kwargs, x):
    check_layer(lambda lib: lib.layers.BatchNormalization(**STATS, **kwargs), [x])


@pytest.mark.parametrize("kwargs,x", [c[1:] for c in BATCH_NORM], ids=[c[0] for c in BATCH_NORM])
def test_batch_normalization_training_matches_keras_and_moves_the_statistics(kwargs, x):
    theirs = keras.layers.BatchNormalization(momentum=0.8, **kwargs)
    ours = layers.BatchNormalization(momentum=0.8, **kwargs)
    theirs.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x, training=True)), np.asarray(theirs(x, training=True)),
                               rtol=1e-5, atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(ours.moving_mean.numpy(), 0.0)


def test_batch_normalization_with_a_mask_uses_only_unmasked_positions_like_keras():
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0, 1, 1, 0, 1]], bool)
    theirs, ours = keras.layers.BatchNormalization(), layers.BatchNormalization()
    theirs.build(X3.shape)
    ours.build(X3.shape)
    np.testing.assert_allclose(np.asarray(ours(X3, training=True, mask=mask)),
                               np.asarray(theirs(X3, training=True, mask=mask)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.moving_mean.numpy(), theirs.moving_mean.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours.moving_variance.numpy(), theirs.moving_variance.numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match=r"mask.*one dim less.*\(4, 5, 6\)"):
        ours(X3, training=True, mask=np.ones((4, 5, 6), bool))


def _bn_model(lib, trainable=True):
    inputs = lib.Input(shape=(5,))
    h = lib.layers.Dense(8)(inputs)
    bn = lib.layers.BatchNormalization(momentum=0.9)
    bn.trainable = trainable
    return lib.Model(inputs, lib.layers.Dense(1)(bn(h)))


@pytest.mark.parametrize("trainable", [True, False], ids=["trainable", "frozen"])
def test_fit_updates_the_moving_statistics_inside_the_compiled_step_like_keras(trainable):
    x = (rng.normal(size=(64, 5)) * 2 + 1).astype("float32")
    y = rng.normal(size=(64, 1)).astype("float32")
    theirs, ours = _bn_model(keras, trainable), _bn_model(kgraph, trainable)
    ours.set_weights(theirs.get_weights())
    initial = ours.layers[2].get_weights()
    for model, lib in ((theirs, keras), (ours, kgraph)):
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for a, b, w in zip(ours.get_weights(), theirs.get_weights(), theirs.weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=w.path)
    moved = [not np.allclose(a, b) for a, b in zip(ours.layers[2].get_weights(), initial)]
    assert moved == ([True] * 4 if trainable else [False] * 4)


def test_frozen_batch_normalization_runs_in_inference_mode_under_training_true():
    layer = layers.BatchNormalization(**STATS)
    layer.build(X3.shape)
    before = layer.get_weights()
    inference = np.asarray(layer(X3, training=False))
    layer.trainable = False
    np.testing.assert_allclose(np.asarray(layer(X3, training=True)), inference, rtol=1e-6)
    for a, b in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_batch_normalization_weights_follow_keras_names_and_order():
    ours, theirs = layers.BatchNormalization(name="bn"), keras.layers.BatchNormalization(name="bn")
    ours.build((None, 3, 7))
    theirs.build((None, 3, 7))
    assert [(w.path, w.shape, w.trainable) for w in ours.weights] == \
        [(w.path, tuple(w.shape), w.trainable) for w in theirs.weights]
    no_scale = layers.BatchNormalization(scale=False, name="bn2")
    no_scale.build((None, 4))
    assert [w.name for w in no_scale.weights] == ["beta", "moving_mean", "moving_variance"]


LAYER_NORM = [
    ("last_axis", {}, X3),
    ("axis_1", {"axis": 1}, X3),
    ("two_trailing_axes", {"axis": [1, 2]}, X3),
    ("negative_axes", {"axis": [-2, -1]}, X4),
    ("rank_2", {"epsilon": 1e-5}, X2),
    ("no_center", {"center": False}, X3),
    ("no_scale_no_center", {"scale": False, "center": False}, X3),
]


@pytest.mark.parametrize("kwargs,x", [c[1:] for c in LAYER_NORM], ids=[c[0] for c in LAYER_NORM])
def test_layer_normalization_matches_keras(kwargs, x):
    check_layer(lambda lib: lib.layers.LayerNormalization(**AFFINE, **kwargs), [x], rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
def test_layer_normalization_rms_scaling_matches_keras():
    check_layer(lambda lib: lib.layers.LayerNormalization(rms_scaling=True, gamma_initializer="random_normal"), [X3])
    with pytest.warns(UserWarning, match="rms_scaling"):
        layers.LayerNormalization(rms_scaling=True)


GROUP_NORM = [
    ("channels_last", {"groups": 3}, X4),
    ("channels_first", {"groups": 2, "axis": 1}, X4),
    ("instance", {"groups": -1}, X3),
    ("one_group", {"groups": 1}, X3),
    ("rank_2", {"groups": 5}, X2),
    ("middle_axis", {"groups": 2, "axis": 2}, rng.normal(size=(2, 3, 4, 5)).astype("float32")),
    ("no_center", {"groups": 2, "center": False}, X3),
]


@pytest.mark.parametrize("kwargs,x", [c[1:] for c in GROUP_NORM], ids=[c[0] for c in GROUP_NORM])
def test_group_normalization_matches_keras(kwargs, x):
    check_layer(lambda lib: lib.layers.GroupNormalization(**AFFINE, **kwargs), [x], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("axis", [-1, 1, [1, 2]], ids=["last", "axis_1", "two_axes"])
def test_unit_normalization_matches_keras(axis):
    check_layer(lambda lib: lib.layers.UnitNormalization(axis=axis), [X3])


def test_unit_normalization_keeps_zero_vectors_at_zero():
    out = np.asarray(layers.UnitNormalization()(np.zeros((2, 3), "float32")))
    np.testing.assert_array_equal(out, np.zeros((2, 3)))


def _trace(fn, inputs, dynamic=()):
    """A one-op graph whose data input has a symbolic batch dim (and the dims in `dynamic`); params are inputs."""
    with Trace("case") as t:
        dims = ("batch",) + tuple(f"s{d}" if d in dynamic else n for d, n in enumerate(inputs[0].shape) if d)
        symbols = [t.input(TensorType(str(inputs[0].dtype), dims), "in0")]
        symbols += [t.input(TensorType(str(a.dtype), a.shape), f"in{i}") for i, a in enumerate(inputs) if i]
        t.graph.outputs = [fn(*symbols).ir_value]
    t.graph.verify()
    return t.graph


def _params(*shape):
    return [rng.uniform(0.5, 1.5, size=shape).astype("float32"), rng.normal(size=shape).astype("float32")]


# (id, function of x and params, inputs, symbolic dims of x, (native ONNX op, from opset))
OP_CASES = [
    ("batch_norm_channels_last", lambda x, m, v, s, o: ops.batch_normalization(x, m, v, -1, o, s),
     (X3, *_params(6)[::-1], *_params(6)), (1,), None),
    ("batch_norm_axis_1", lambda x, m, v, s, o: ops.batch_normalization(x, m, v, 1, o, s, epsilon=0.1),
     (X3, *_params(5)[::-1], *_params(5)), (2,), ("BatchNormalization", 13)),
    ("normalize_batch_channels_last", lambda x, g, b: normalize_batch(x, -1, offset=b, scale=g)[0],
     (X3, *_params(6)), (1,), None),
    ("normalize_batch_statistics", lambda x: normalize_batch(x, 1)[2], (X3,), (2,), None),
    ("layer_norm_last_axis", lambda x, g, b: ops.layer_normalization(x, g, b, axis=-1, epsilon=1e-3),
     (X3, *_params(6)), (1,), ("LayerNormalization", 17)),
    ("layer_norm_two_axes", lambda x, g, b: ops.layer_normalization(x, g, b, axis=[1, 2], epsilon=1e-3),
     (X3, *_params(5, 6)), (), ("LayerNormalization", 17)),
    ("layer_norm_leading_axis", lambda x, g, b: ops.layer_normalization(x, g, b, axis=1, epsilon=1e-3),
     (X3, *_params(5)), (2,), None),
    ("group_norm_channels_last", lambda x, g, b: ops.group_normalization(x, 3, g, b), (X4, *_params(6)), (1, 2),
     None),
    ("group_norm_channels_first", lambda x, g, b: ops.group_normalization(x, 2, g, b, axis=1), (X4, *_params(4)),
     (2, 3), ("GroupNormalization", 21)),
    ("group_norm_middle_axis", lambda x, g, b: ops.group_normalization(x, 3, g, b, axis=2), (X4, *_params(3)), (1,),
     None),
]
NORMALIZATION_ONNX_OPS = {"BatchNormalization", "LayerNormalization", "GroupNormalization"}


@pytest.mark.parametrize("opset", [13, 17, 21])
@pytest.mark.parametrize("fn,inputs,dynamic,native", [c[1:] for c in OP_CASES], ids=[c[0] for c in OP_CASES])
def test_onnx_rule_matches_jax_rule_and_uses_the_native_op_from_its_opset(fn, inputs, dynamic, native, opset):
    graph = _trace(fn, inputs, dynamic)
    expected = np.asarray(lower_to_jax(graph)({}, list(inputs))[0][0])
    model = lower_to_onnx(graph, {}, opset=opset)
    check_onnx(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {f"in{i}": a for i, a in enumerate(inputs)})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    used = {n.op_type for n in model.graph.node} & NORMALIZATION_ONNX_OPS
    assert used == ({native[0]} if native and opset >= native[1] else set())


def test_every_normalization_op_has_an_onnx_parity_case():
    covered = set()
    for _, fn, inputs, dynamic, _ in OP_CASES:
        covered |= {n.op for n in _trace(fn, inputs, dynamic).nodes}
    family = {name for name, op in all_ops().items() if op.family == "normalization"}
    assert family and family <= covered, sorted(family - covered)


def test_half_precision_inputs_are_normalized_in_float32_like_keras():
    x = X3.astype("float16")
    gamma, beta = rng.normal(size=(6,)).astype("float16"), rng.normal(size=(6,)).astype("float16")
    ours = ops.layer_normalization(x, gamma, beta, axis=-1, epsilon=1e-3)
    theirs = keras.ops.layer_normalization(x, gamma, beta, axis=-1, epsilon=1e-3)
    assert str(ours.dtype) == "float16"
    np.testing.assert_allclose(np.asarray(ours, "float32"), np.asarray(theirs, "float32"), rtol=1e-3, atol=1e-3)
    for ours_stat, theirs_stat in zip(ops.moments(x, axes=(0, 1)), keras.ops.moments(x, axes=(0, 1))):
        assert str(ours_stat.dtype) == "float16"
        np.testing.assert_allclose(np.asarray(ours_stat, "float32"), np.asarray(theirs_stat, "float32"), rtol=1e-3)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_normalize_matches_keras(order):
    np.testing.assert_allclose(np.asarray(ops.normalize(X3, axis=-1, order=order)),
                               np.asarray(keras.ops.normalize(X3, axis=-1, order=order)), rtol=1e-5, atol=1e-7)


CONFIGS = [
    lambda lib: lib.layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-4, center=False,
                                              gamma_regularizer=lib.regularizers.L2(0.1), name="bn"),
    lambda lib: lib.layers.LayerNormalization(axis=[1, 2], epsilon=1e-5, scale=False, name="ln"),
    lambda lib: lib.layers.GroupNormalization(groups=4, axis=1, epsilon=1e-4, name="gn"),
    lambda lib: lib.layers.UnitNormalization(axis=[1, 2], name="un"),
]


@pytest.mark.parametrize("factory", CONFIGS, ids=["batch", "layer", "group", "unit"])
def test_config_round_trips_and_matches_keras_keys(factory):
    layer = factory(kgraph)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    assert set(config) <= set(factory(keras).get_config())


BAD_BUILDS = [
    ("batch_axis_out_of_range", lambda: layers.BatchNormalization(axis=3, name="bn"), (None, 4, 5),
     r"'bn'.*axis 3.*\(None, 4, 5\)"),
    ("batch_unknown_channels", lambda: layers.BatchNormalization(name="bn"), (None, 4, None),
     r"'bn'.*axis 2.*\(None, 4, None\).*known size"),
    ("layer_axis_out_of_range", lambda: layers.LayerNormalization(axis=[1, -4], name="ln"), (None, 4, 5),
     r"'ln'.*axis -4.*\(None, 4, 5\)"),
    ("group_not_a_divisor", lambda: layers.GroupNormalization(groups=4, name="gn"), (None, 3, 6),
     r"'gn'.*6 channels.*4 equal groups.*\(None, 3, 6\)"),
    ("group_more_groups_than_channels", lambda: layers.GroupNormalization(groups=8, name="gn"), (None, 6),
     r"'gn'.*6 channels.*8 equal groups"),
    ("unit_axis_out_of_range", lambda: layers.UnitNormalization(axis=2, name="un"), (None, 4),
     r"'un'.*axis 2.*\(None, 4\)"),
]


@pytest.mark.parametrize("make,shape,message", [c[1:] for c in BAD_BUILDS], ids=[c[0] for c in BAD_BUILDS])
def test_bad_configs_fail_at_build_naming_the_layer_and_shape(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make().build(shape)


def test_bad_constructor_arguments_and_mismatched_inputs_fail():
    with pytest.raises(ValueError, match="groups"):
        layers.GroupNormalization(groups=0)
    with pytest.raises(TypeError, match="axis"):
        layers.LayerNormalization(axis="last")
    bn = layers.BatchNormalization(name="bn")
    bn.build((None, 4))
    with pytest.raises(ValueError, match=r"'bn'.*built for inputs of shape \(None, 4\).*\(2, 5\)"):
        bn(np.zeros((2, 5), "float32"))


def test_normalization_ops_check_their_parameters_when_traced():
    x = kgraph.Input(shape=(5, 6))
    with pytest.raises(ValueError, match=r"mean must have shape \(6,\) for an input of shape \('batch', 5, 6\), "
                                         r"got \(5,\)"):
        ops.batch_normalization(x, np.zeros(5, "float32"), np.ones(6, "float32"), axis=-1)
    with pytest.raises(ValueError, match=r"scale must have shape \(5, 6\).*got \(6,\)"):
        ops.layer_normalization(x, np.ones(6, "float32"), axis=[1, 2])
    with pytest.raises(ValueError, match="6 channels cannot be split into 4 equal groups"):
        ops.group_normalization(x, 4)
