"""RandomElasticTransform and ContrastLimitedAdaptiveHistogramEqualization against Keras 3 (JAX backend).

RandomElasticTransform: given Keras' draw (its seed as an int), the transform equals Keras', also when the
distortion is a traced value (the bounded, zero-padded blur kernel); seeded draws repeat, values stay in
`value_range`, inference is the identity (XLA and ONNX Runtime); configs and `.keras` files cross both ways; it trains
inside a model. CLAHE is deterministic: outputs equal Keras' through XLA and ONNX Runtime, in training too.
"""

import keras
import numpy as np
import pytest

import kgraph
from kgraph.ir import TensorType
from kgraph.lowering.jax import lower_to_jax
from kgraph.tracing import Trace
from tests.layers.config_parity import assert_config_matches_keras
from tests.layers.keras_crossing import assert_keras_file_loads
from tests.layers.parity import check_layer

rng = np.random.default_rng(0)
IMAGES = (rng.random((2, 12, 14, 3)) * 255).astype("float32")
FIRST = IMAGES.transpose(0, 3, 1, 2)
LABELS = rng.random((2, 2)).astype("float32")

ELASTIC = [
    ("defaults", {}, IMAGES),
    ("ranges_constant_fill", {"factor": (0.5, 1.0), "scale": (0.3, 0.8), "fill_mode": "constant",
                              "fill_value": 300.0}, IMAGES),
    ("nearest_mirror_unit_range_channels_first", {"interpolation": "nearest", "fill_mode": "mirror",
                                                  "scale": (0.9, 1.0), "value_range": (0, 1),
                                                  "data_format": "channels_first"}, FIRST / 255.0),
]


def _keras_draw(layer, x, seed: int = 5) -> dict:
    """Keras' random transformation with every image transformed, its SeedGenerator replaced by an int seed."""
    drawn = layer.get_random_transformation(x)
    return {"apply_transform": np.array([True, False]),
            "distortion_factor": np.asarray(drawn["distortion_factor"]), "seed": seed}


@pytest.mark.parametrize("name,kwargs,x", ELASTIC, ids=[c[0] for c in ELASTIC])
def test_elastic_transform_of_keras_draw_equals_keras(name, kwargs, x):
    theirs, ours = keras.layers.RandomElasticTransform(seed=1, **kwargs), kgraph.layers.RandomElasticTransform(
        seed=1, **kwargs)
    transformation = _keras_draw(theirs, x)
    expected = np.asarray(theirs.transform_images(x, transformation))
    got = np.asarray(ours.transform_images(x, transformation))
    assert not np.allclose(got, x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4 * float(np.max(x)))


def test_traced_distortion_uses_the_bounded_kernel_and_equals_keras():
    """With the distortion a graph input, the blur kernel is sized for `scale`'s upper end (13 taps for 40-pixel
    sides); the taps beyond the drawn size (3) are zero, which leaves Keras' blur."""
    x = (rng.random((2, 40, 44, 3)) * 255).astype("float32")
    theirs, ours = keras.layers.RandomElasticTransform(seed=1), kgraph.layers.RandomElasticTransform(seed=1)
    transformation = {"apply_transform": np.array([True, True]), "distortion_factor": np.float32(0.3), "seed": 6}
    with Trace("elastic") as trace:
        images = trace.input(TensorType("float32", ("batch",) + x.shape[1:]), "images")
        distortion = trace.input(TensorType("float32", ()), "distortion")
        out = ours.transform_images(images, {**transformation, "distortion_factor": distortion})
        trace.graph.outputs = [out.ir_value]
    assert next(n for n in trace.graph.nodes if n.op == "elastic_transform").attrs["kernel_size"] == 13
    got = np.asarray(lower_to_jax(trace.graph)({}, [x, np.float32(0.3)])[0][0])
    expected = np.asarray(theirs.transform_images(x, transformation))
    assert not np.allclose(got, x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-2)


def test_elastic_seeded_draws_repeat_stay_in_range_and_inference_is_identity():
    first = np.asarray(kgraph.layers.RandomElasticTransform(seed=3)(IMAGES))
    np.testing.assert_array_equal(np.asarray(kgraph.layers.RandomElasticTransform(seed=3)(IMAGES)), first)
    assert not np.allclose(first, IMAGES) and 0.0 <= first.min() and first.max() <= 255.0
    layer = kgraph.layers.RandomElasticTransform(seed=3)
    assert not np.allclose(np.asarray(layer(IMAGES)), np.asarray(layer(IMAGES)))
    np.testing.assert_array_equal(np.asarray(layer(IMAGES, training=False)), IMAGES)
    for off in ({"factor": 0.0}, {"scale": 0.0}):
        np.testing.assert_array_equal(np.asarray(kgraph.layers.RandomElasticTransform(**off, seed=3)(IMAGES)), IMAGES)
    single = np.asarray(kgraph.layers.RandomElasticTransform(seed=3)(IMAGES[0]))
    assert single.shape == IMAGES[0].shape and not np.allclose(single, IMAGES[0])


def test_elastic_inference_is_identity_through_xla_and_onnx(tmp_path):
    check_layer(lambda lib: lib.layers.RandomElasticTransform(seed=2), [IMAGES], tmp_dir=str(tmp_path))


@pytest.mark.parametrize("kwargs", [{}, {"factor": (0.2, 0.7), "scale": 0.4, "interpolation": "nearest",
                                         "fill_mode": "constant", "fill_value": 1.0, "value_range": (0, 1),
                                         "data_format": "channels_first", "seed": 9}])
def test_elastic_config_equals_keras(kwargs):
    assert_config_matches_keras(lambda lib: lib.layers.RandomElasticTransform(**kwargs))


def _model(lib):
    inputs = lib.Input((12, 14, 3))
    x = lib.layers.RandomElasticTransform(scale=0.5, seed=4)(inputs)
    x = lib.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(3, 4))(x)
    x = lib.layers.GlobalAveragePooling2D()(lib.layers.Conv2D(2, 3)(lib.layers.Rescaling(1 / 255.0)(x)))
    return lib.Model(inputs, lib.layers.Dense(2)(x))


@pytest.mark.slow
def test_model_with_both_layers_trains_and_keras_files_cross_both_ways(tmp_path):
    model = _model(kgraph)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(IMAGES, LABELS, batch_size=2, epochs=2, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    np.testing.assert_allclose(model.predict(IMAGES, verbose=0), model(IMAGES, training=False), rtol=1e-5,
                               atol=1e-6)
    assert_keras_file_loads(_model, IMAGES, tmp_path, rtol=1e-4, atol=1e-5)
    path = str(tmp_path / "kgraph_saved.keras")
    model.save(path)
    theirs = keras.saving.load_model(path)
    np.testing.assert_allclose(theirs.predict(IMAGES, verbose=0), model.predict(IMAGES, verbose=0), rtol=1e-4,
                               atol=1e-5)


def test_elastic_bad_arguments_fail_naming_them():
    with pytest.raises(ValueError, match=r"`scale` argument"):
        kgraph.layers.RandomElasticTransform(scale=1.5)
    with pytest.raises(ValueError, match=r"`factor` argument"):
        kgraph.layers.RandomElasticTransform(factor=(0.1, 0.2, 0.3))
    with pytest.raises(NotImplementedError, match=r"`interpolation` cubic"):
        kgraph.layers.RandomElasticTransform(interpolation="cubic")
    with pytest.raises(NotImplementedError, match=r"`fill_mode` edge"):
        kgraph.layers.RandomElasticTransform(fill_mode="edge")


CLAHE = [
    ("padded_grid", {"tile_grid_size": (5, 3), "clip_limit": 2.0}, IMAGES),
    ("no_clipping_unit_range_channels_first", {"clip_limit": 0.0, "value_range": (0, 1), "tile_grid_size": (4, 4),
                                               "data_format": "channels_first"}, FIRST / 255.0),
]


@pytest.mark.parametrize("name,kwargs,x", CLAHE, ids=[c[0] for c in CLAHE])
def test_clahe_equals_keras_through_xla_and_onnx(name, kwargs, x, tmp_path):
    scale = float(np.max(x))
    check_layer(lambda lib: lib.layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs), [x], rtol=1e-5,
                atol=1e-5 * scale, training=True, grad=False, tmp_dir=str(tmp_path))


def test_clahe_keeps_integer_dtypes_and_single_images_as_keras():
    pixels = IMAGES.astype("uint8")
    for x in (pixels, pixels[0]):
        expected = np.asarray(keras.layers.ContrastLimitedAdaptiveHistogramEqualization()(x))
        got = np.asarray(kgraph.layers.ContrastLimitedAdaptiveHistogramEqualization()(x))
        assert got.dtype == expected.dtype == np.uint8 and got.shape == x.shape
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("kwargs", [{}, {"value_range": (0, 1), "clip_limit": 2.5, "tile_grid_size": (4, 2),
                                         "data_format": "channels_first"}])
def test_clahe_config_equals_keras(kwargs):
    assert_config_matches_keras(lambda lib: lib.layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs))


def test_clahe_bad_arguments_fail_naming_them():
    with pytest.raises(ValueError, match=r"`tile_grid_size`.*\(0, 4\)"):
        kgraph.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(0, 4))
    with pytest.raises(ValueError, match=r"`clip_limit`.*'high'"):
        kgraph.layers.ContrastLimitedAdaptiveHistogramEqualization(clip_limit="high")
    with pytest.raises(ValueError, match=r"`value_range`"):
        kgraph.layers.ContrastLimitedAdaptiveHistogramEqualization(value_range=(0, 1, 2))
