"""SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, ActivityRegularization: noise statistics in training,
identity and no random node in inference and ONNX, Keras' losses, configs and errors."""

import keras
import numpy as np
import onnx
import pytest

import kgraph
from kgraph import layers
from kgraph.ir import all_ops, get_op
from kgraph.lowering.onnx import has_rule
from kgraph.ops.dispatch import apply
from kgraph.program import input_specs_from_model, trace_model
from tests.layers.parity import check_layer

rng = np.random.default_rng(0)

SPATIAL = [
    ("1d", lambda: layers.SpatialDropout1D(0.4, seed=1), (64, 10, 16), (1,)),
    ("2d_channels_last", lambda: layers.SpatialDropout2D(0.4, seed=2), (32, 5, 6, 16), (1, 2)),
    ("2d_channels_first", lambda: layers.SpatialDropout2D(0.4, data_format="channels_first", seed=3), (32, 16, 5, 6),
     (2, 3)),
    ("3d", lambda: layers.SpatialDropout3D(0.4, seed=4), (16, 3, 4, 5, 16), (1, 2, 3)),
]


@pytest.mark.parametrize("make,shape,spatial_axes", [c[1:] for c in SPATIAL], ids=[c[0] for c in SPATIAL])
def test_spatial_dropout_drops_whole_channels_at_the_rate(make, shape, spatial_axes):
    x = rng.uniform(1.0, 2.0, size=shape).astype("float32")
    out = np.asarray(make()(x, training=True))
    kept = out != 0
    channel_kept = kept.all(axis=spatial_axes)
    np.testing.assert_array_equal(channel_kept, kept.any(axis=spatial_axes))
    assert 0.3 < 1 - channel_kept.mean() < 0.5
    np.testing.assert_allclose(out[kept], x[kept] / 0.6, rtol=1e-6)


def test_gaussian_noise_adds_zero_mean_noise_of_stddev_while_training():
    x = np.full((200, 500), 3.0, "float32")
    noise = np.asarray(layers.GaussianNoise(0.5, seed=1)(x, training=True)) - x
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.5) < 0.01


def test_gaussian_dropout_multiplies_by_one_mean_noise_of_the_dropout_stddev():
    x = np.full((200, 500), 2.0, "float32")
    factor = np.asarray(layers.GaussianDropout(0.2, seed=1)(x, training=True)) / x
    assert abs(factor.mean() - 1.0) < 0.01 and abs(factor.std() - np.sqrt(0.2 / 0.8)) < 0.01


def test_random_normal_like_draws_from_its_seed_folded_into_the_key():
    x, key = np.zeros((400, 250), "float32"), kgraph.random.key(7)
    draw = np.asarray(apply("random_normal_like", x, key, mean=1.5, stddev=0.5, seed=3))
    assert draw.dtype == np.float32 and abs(draw.mean() - 1.5) < 0.01 and abs(draw.std() - 0.5) < 0.01
    np.testing.assert_array_equal(np.asarray(apply("random_normal_like", x, key, mean=1.5, stddev=0.5, seed=3)), draw)
    assert not np.allclose(np.asarray(apply("random_normal_like", x, key, mean=1.5, stddev=0.5, seed=4)), draw)


def test_noise_ops_are_random_training_only_ops_without_onnx_rules():
    family = {name for name, op in all_ops().items() if op.family == "noise"}
    assert family == {"random_normal_like"}
    assert all(get_op(name).random and not has_rule(name) for name in family)


NOISE_LAYERS = [
    ("spatial_1d", lambda: layers.SpatialDropout1D(0.5), (6, 8)),
    ("spatial_2d", lambda: layers.SpatialDropout2D(0.5), (3, 4, 8)),
    ("gaussian_noise", lambda: layers.GaussianNoise(0.3), (6, 8)),
    ("gaussian_dropout", lambda: layers.GaussianDropout(0.3), (6, 8)),
]


@pytest.mark.parametrize("make,shape", [c[1:] for c in NOISE_LAYERS], ids=[c[0] for c in NOISE_LAYERS])
def test_noise_is_random_in_training_graphs_only_and_onnx_has_no_random_node(make, shape, tmp_path):
    inputs = kgraph.Input(shape=shape)
    model = kgraph.Model(inputs, layers.Dense(3)(make()(inputs)))
    specs = input_specs_from_model(model)
    assert any(get_op(n.op).random for n in trace_model(model, specs, training=True).graph.nodes)
    assert not any(get_op(n.op).random for n in trace_model(model, specs, training=False).graph.nodes)
    x = rng.normal(size=(4,) + shape).astype("float32")
    dense_only = np.asarray(model.layers[2](x))
    np.testing.assert_allclose(model.predict(x, verbose=0), dense_only, rtol=1e-6)
    assert not np.allclose(np.asarray(model(x, training=True)), dense_only)
    path = tmp_path / "noise.onnx"
    kgraph.export.export_onnx(model, path)
    op_types = {n.op_type for n in onnx.load(path).graph.node}
    assert not any(t.startswith("Random") or t in ("Dropout", "Bernoulli") for t in op_types), op_types
    np.testing.assert_allclose(kgraph.runtime.OnnxModel(path).predict(x), dense_only, rtol=1e-5, atol=1e-6)


def test_noise_layers_train_inside_fit():
    kgraph.utils.set_random_seed(3)
    inputs = kgraph.Input(shape=(4, 8))
    h = layers.SpatialDropout1D(0.2)(layers.GaussianDropout(0.1)(layers.GaussianNoise(0.1)(inputs)))
    model = kgraph.Model(inputs, layers.Dense(1)(layers.Flatten()(h)))
    model.compile(optimizer=kgraph.optimizers.Adam(0.02), loss="mse")
    x = rng.normal(size=(64, 4, 8)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None] * 0.2
    losses = model.fit(x, y, batch_size=16, epochs=10, verbose=0).history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("l1,l2", [(0.01, 0.0), (0.0, 0.02), (0.01, 0.03)])
def test_activity_regularization_adds_keras_loss(l1, l2):
    x = rng.normal(size=(8, 5)).astype("float32")
    ours, theirs = layers.ActivityRegularization(l1, l2), keras.layers.ActivityRegularization(l1, l2)
    np.testing.assert_array_equal(np.asarray(ours(x)), x)
    theirs(x)
    assert len(ours.losses) == len(theirs.losses) == 1
    np.testing.assert_allclose(np.asarray(ours.losses[0]), np.asarray(theirs.losses[0]), rtol=1e-5)
    check_layer(lambda lib: lib.layers.ActivityRegularization(l1, l2), [x])


def test_activity_regularization_loss_enters_evaluate_like_keras():
    x, y = rng.normal(size=(32, 5)).astype("float32"), rng.normal(size=(32, 2)).astype("float32")
    models = []
    for lib in (keras, kgraph):
        inputs = lib.Input(shape=(5,))
        h = lib.layers.ActivityRegularization(l1=0.05, l2=0.1)(lib.layers.Dense(4)(inputs))
        model = lib.Model(inputs, lib.layers.Dense(2)(h))
        model.compile(optimizer="sgd", loss="mse")
        models.append(model)
    theirs, ours = models
    ours.set_weights(theirs.get_weights())
    expected = theirs.evaluate(x, y, batch_size=32, verbose=0)
    np.testing.assert_allclose(ours.evaluate(x, y, batch_size=32, verbose=0), expected, rtol=1e-5)
    assert expected > np.mean((theirs.predict(x, verbose=0) - y) ** 2) + 1e-3


CONFIGS = [
    lambda lib: lib.layers.SpatialDropout1D(0.3, seed=4, name="sd1"),
    lambda lib: lib.layers.SpatialDropout2D(0.3, data_format="channels_first", seed=4, name="sd2"),
    lambda lib: lib.layers.SpatialDropout3D(0.3, name="sd3"),
    lambda lib: lib.layers.GaussianNoise(0.2, seed=1, name="gn"),
    lambda lib: lib.layers.GaussianDropout(0.2, name="gd"),
    lambda lib: lib.layers.ActivityRegularization(l1=0.1, l2=0.2, name="ar"),
]


@pytest.mark.parametrize("factory", CONFIGS, ids=["sd1", "sd2", "sd3", "gaussian_noise", "gaussian_dropout", "ar"])
def test_config_round_trips_and_matches_keras_keys(factory):
    layer = factory(kgraph)
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    theirs = factory(keras).get_config()
    assert set(config) - {"trainable"} <= set(theirs)
    for key in set(config) & set(theirs) - {"dtype"}:
        assert config[key] == theirs[key], key


def test_bad_arguments_fail_naming_the_argument_or_layer_and_shape():
    for make in (lambda: layers.SpatialDropout1D(1.0), lambda: layers.GaussianDropout(-0.1),
                 lambda: layers.GaussianDropout(1.0)):
        with pytest.raises(ValueError, match="rate"):
            make()
    with pytest.raises(ValueError, match="stddev"):
        layers.GaussianNoise(1.5)
    with pytest.raises(ValueError, match="data_format"):
        layers.SpatialDropout2D(0.1, data_format="channels_middle")
    with pytest.raises(ValueError, match=r"'sd'.*SpatialDropout2D.*rank 4.*\(None, 5, 3\)"):
        layers.SpatialDropout2D(0.1, name="sd")(kgraph.Input(shape=(5, 3)))
