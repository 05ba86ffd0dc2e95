"""Reshape, Permute, RepeatVector, Cropping1D/2D, ZeroPadding1D/2D, UpSampling1D/2D: Keras parity (XLA and ONNX
Runtime), config round trips, and bad configurations failing at build time with the layer and shapes named."""

import numpy as np
import pytest

import kgraph
from tests.layers.parity import check_layer

rng = np.random.default_rng(0)
SEQ = rng.normal(size=(3, 6, 4)).astype("float32")
IMG = rng.normal(size=(2, 5, 6, 3)).astype("float32")
VEC = rng.normal(size=(3, 5)).astype("float32")

# (id, factory of the layer for a library, input)
CASES = [
    ("reshape", lambda lib: lib.layers.Reshape((4, 6)), SEQ),
    ("reshape_infer", lambda lib: lib.layers.Reshape((-1, 2)), SEQ),
    ("reshape_image", lambda lib: lib.layers.Reshape((5, -1)), IMG),
    ("permute", lambda lib: lib.layers.Permute((2, 1)), SEQ),
    ("permute_3d", lambda lib: lib.layers.Permute((3, 1, 2)), IMG),
    ("repeat_vector", lambda lib: lib.layers.RepeatVector(3), VEC),
    ("cropping1d", lambda lib: lib.layers.Cropping1D((1, 2)), SEQ),
    ("cropping1d_int", lambda lib: lib.layers.Cropping1D(2), SEQ),
    ("cropping2d", lambda lib: lib.layers.Cropping2D(((1, 0), (2, 1))), IMG),
    ("cropping2d_channels_first", lambda lib: lib.layers.Cropping2D(1, data_format="channels_first"), IMG),
    ("zero_padding1d", lambda lib: lib.layers.ZeroPadding1D((2, 1)), SEQ),
    ("zero_padding1d_channels_first", lambda lib: lib.layers.ZeroPadding1D(1, data_format="channels_first"), SEQ),
    ("zero_padding2d", lambda lib: lib.layers.ZeroPadding2D(((1, 0), (2, 1))), IMG),
    ("zero_padding2d_channels_first", lambda lib: lib.layers.ZeroPadding2D(2, data_format="channels_first"), IMG),
    ("up_sampling1d", lambda lib: lib.layers.UpSampling1D(3), SEQ),
    ("up_sampling2d", lambda lib: lib.layers.UpSampling2D((2, 3)), IMG),
    ("up_sampling2d_channels_first", lambda lib: lib.layers.UpSampling2D(2, data_format="channels_first"), IMG),
    ("up_sampling2d_bilinear", lambda lib: lib.layers.UpSampling2D((2, 3), interpolation="bilinear"), IMG),
]


@pytest.mark.parametrize("name,factory,x", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_keras_xla_and_onnx(name, factory, x, tmp_path):
    check_layer(factory, [x], tmp_dir=str(tmp_path))


@pytest.mark.parametrize("name,factory,x", CASES, ids=[c[0] for c in CASES])
def test_config_round_trip(name, factory, x):
    layer = factory(kgraph)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    theirs = factory(__import__("keras")).get_config()
    for key in set(config) - {"name", "dtype"}:
        assert config[key] == theirs[key], key


def test_output_shapes_keep_the_batch_unknown():
    seq = kgraph.Input(shape=(6, 4))
    assert kgraph.layers.Reshape((-1, 2))(seq).shape == (None, 12, 2)
    assert kgraph.layers.Cropping1D((1, 2))(seq).shape == (None, 3, 4)
    assert kgraph.layers.UpSampling1D(2)(kgraph.layers.ZeroPadding1D(1)(seq)).shape == (None, 16, 4)
    assert kgraph.layers.RepeatVector(3)(kgraph.Input(shape=(5,))).shape == (None, 3, 5)
    free = kgraph.Input(shape=(None, 4))
    assert kgraph.layers.UpSampling1D(2)(kgraph.layers.Cropping1D(1)(free)).shape == (None, None, 4)


@pytest.mark.parametrize("make,shape,match", [
    (lambda: kgraph.layers.Reshape((5, 5)), (6, 4), r"reshape.*\(6, 4\).*\(5, 5\)"),
    (lambda: kgraph.layers.Reshape((-1, 5)), (6, 4), r"reshape.*\(6, 4\).*\(-1, 5\)"),
    (lambda: kgraph.layers.Permute((2, 1)), (6, 4, 2), r"Permute.*rank 3.*\(None, 6, 4, 2\)"),
    (lambda: kgraph.layers.RepeatVector(2), (6, 4), r"RepeatVector.*rank 2.*\(None, 6, 4\)"),
    (lambda: kgraph.layers.Cropping1D((3, 3)), (6, 4), r"Cropping1D.*cropping=\(3, 3\).*\(None, 6, 4\)"),
    (lambda: kgraph.layers.Cropping2D(((2, 3), (0, 0))), (5, 6, 3), r"Cropping2D.*\(None, 5, 6, 3\)"),
    (lambda: kgraph.layers.ZeroPadding2D(1), (6, 4), r"ZeroPadding2D.*rank 4.*\(None, 6, 4\)"),
    (lambda: kgraph.layers.UpSampling2D(interpolation="bilinear"), (None, 6, 3), r"UpSampling2D.*known height"),
])
def test_bad_configs_fail_at_build_naming_layer_and_shapes(make, shape, match):
    layer = make()
    with pytest.raises(ValueError, match=match) as info:
        layer(kgraph.Input(shape=shape))
    assert repr(layer.name) in str(info.value)


@pytest.mark.parametrize("make,match", [
    (lambda: kgraph.layers.Reshape((2, -1, -1)), "at most one -1"),
    (lambda: kgraph.layers.Permute((1, 3)), "permutation"),
    (lambda: kgraph.layers.RepeatVector(0), "positive"),
    (lambda: kgraph.layers.Cropping1D((1, -1)), "non-negative"),
    (lambda: kgraph.layers.ZeroPadding2D((1, 2, 3)), "pair"),
    (lambda: kgraph.layers.UpSampling2D(interpolation="bicubic"), "interpolation"),
    (lambda: kgraph.layers.Cropping2D(data_format="channels_middle"), "data_format"),
])
def test_bad_arguments_fail_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()
