"""`ops.image.elastic_transform` against Keras 3 (JAX backend): an int seed or a SeedGenerator draws Keras' own
displacement fields, so outputs are equal (up to the rounding of a separable blur, amplified by alpha); eager,
jitted and traced (symbolic batch) runs agree; ONNX refuses it by name; bad arguments fail naming them."""

import jax
import keras
import numpy as np
import pytest

import kgraph
from kgraph.ir import TensorType, get_op
from kgraph.ir.registry import ShapeError
from kgraph.lowering.jax import lower_to_jax
from kgraph.lowering.onnx import lower_to_onnx
from kgraph.tracing import Trace

rng = np.random.default_rng(0)
IMAGES = rng.random((2, 12, 15, 3)).astype("float32")

CASES = [
    ("defaults", {}, IMAGES),
    ("nearest_constant", {"interpolation": "nearest", "fill_mode": "constant", "fill_value": 0.5, "sigma": 2.0},
     IMAGES),
    ("wrap_small_sigma", {"fill_mode": "wrap", "alpha": 30.0, "sigma": 1.3}, IMAGES),
    ("mirror_channels_first", {"fill_mode": "mirror", "data_format": "channels_first", "alpha": 50.0, "sigma": 2.5},
     IMAGES.transpose(0, 3, 1, 2)),
    ("nearest_fill_single_image", {"fill_mode": "nearest", "alpha": 10.0, "sigma": 1.0}, IMAGES[0]),
]


@pytest.mark.parametrize("name,kwargs,x", CASES, ids=[c[0] for c in CASES])
def test_int_seed_draws_keras_fields(name, kwargs, x):
    expected = np.asarray(keras.ops.image.elastic_transform(x, seed=3, **kwargs))
    got = np.asarray(kgraph.ops.image.elastic_transform(x, seed=3, **kwargs))
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert not np.allclose(got, x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_seed_generators_advance_as_keras_ones():
    theirs, ours = keras.random.SeedGenerator(5), kgraph.random.SeedGenerator(5)
    draws = []
    for _ in range(2):
        expected = np.asarray(keras.ops.image.elastic_transform(IMAGES, sigma=2.0, seed=theirs))
        got = np.asarray(kgraph.ops.image.elastic_transform(IMAGES, sigma=2.0, seed=ours))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
        draws.append(got)
    assert not np.allclose(draws[0], draws[1])


def test_alpha_or_sigma_zero_keeps_the_images():
    np.testing.assert_array_equal(np.asarray(kgraph.ops.image.elastic_transform(IMAGES, alpha=0.0, seed=1)), IMAGES)
    np.testing.assert_array_equal(np.asarray(kgraph.ops.image.elastic_transform(IMAGES, sigma=0.0, seed=1)), IMAGES)


def test_values_stay_in_the_input_range_and_seeds_repeat():
    first = np.asarray(kgraph.ops.image.elastic_transform(IMAGES, seed=7))
    np.testing.assert_array_equal(np.asarray(kgraph.ops.image.elastic_transform(IMAGES, seed=7)), first)
    assert not np.allclose(np.asarray(kgraph.ops.image.elastic_transform(IMAGES, seed=8)), first)
    assert IMAGES.min() <= first.min() and first.max() <= IMAGES.max()


def _traced(fn, x):
    with Trace("elastic") as trace:
        out = fn(trace.input(TensorType("float32", ("batch",) + x.shape[1:]), "images"))
        trace.graph.outputs = [out.ir_value]
    return trace.graph


def test_eager_jitted_and_traced_runs_agree():
    def fn(x):
        return kgraph.ops.image.elastic_transform(x, alpha=15.0, sigma=2.0, seed=4)

    eager = np.asarray(fn(IMAGES))
    np.testing.assert_allclose(np.asarray(jax.jit(fn)(IMAGES)), eager, rtol=1e-6, atol=1e-6)
    graph = _traced(fn, IMAGES)
    assert [n.op for n in graph.nodes if n.op == "elastic_transform"] == ["elastic_transform"]
    traced = np.asarray(lower_to_jax(graph)({}, [IMAGES])[0][0])
    np.testing.assert_allclose(traced, eager, rtol=1e-6, atol=1e-6)
    with pytest.raises(NotImplementedError, match=r"'elastic_transform'.*cannot be exported to ONNX.*PRNG"):
        lower_to_onnx(graph, {})


def test_unseeded_traces_draw_a_new_field_per_step():
    graph = _traced(lambda x: kgraph.ops.image.elastic_transform(x, sigma=2.0), IMAGES)
    run = lower_to_jax(graph)
    first, second = (np.asarray(run({}, [IMAGES], jax.random.key_data(jax.random.key(k)))[0][0]) for k in (0, 1))
    assert not np.allclose(first, second)


def test_bad_arguments_fail_naming_them():
    elastic = kgraph.ops.image.elastic_transform
    with pytest.raises(ValueError, match=r"`interpolation`.*cubic"):
        elastic(IMAGES, interpolation="cubic")
    with pytest.raises(ValueError, match=r"`fill_mode`.*edge"):
        elastic(IMAGES, fill_mode="edge")
    with pytest.raises(ValueError, match=r"rank 3.*rank 4.*\(12, 15\)"):
        elastic(IMAGES[0, :, :, 0])
    with pytest.raises(ValueError, match=r"floating-point images.*uint8"):
        elastic((IMAGES * 255).astype("uint8"), seed=1)
    with pytest.raises(ValueError, match=r"`sigma` >= 0"):
        elastic(IMAGES, sigma=-1.0, seed=1)
    with pytest.raises(ValueError, match=r"static `sigma`.*int\(6 \* sigma\) \| 1"):
        _traced(lambda x: elastic(x, sigma=kgraph.ops.mean(x), seed=1), IMAGES)
    with pytest.raises(ValueError, match=r"needs a `seed`.*seed=None"):
        elastic(kgraph.Input((12, 15, 3)))


@pytest.mark.parametrize("types,attrs,match", [
    ([("int32", (2, 8, 8, 3)), ("float32", ()), ("float32", ()), ("uint32", (2,))], {}, r"float batch of images"),
    ([("float32", (8, 8, 3)), ("float32", ()), ("float32", ()), ("uint32", (2,))], {}, r"rank 4"),
    ([("float32", (2, 8, 8, 3)), ("float32", (2,)), ("float32", ()), ("uint32", (2,))], {}, r"scalar alpha"),
    ([("float32", (2, 8, 8, 3)), ("float32", ()), ("float32", ()), ("int32", (2,))], {}, r"uint32\[2\] PRNG key"),
    ([("float32", (2, 8, 8, 3)), ("float32", ()), ("float32", ()), ("uint32", (2,))], {"kernel_size": 4},
     r"positive odd int, got 4"),
])
def test_shape_rule_rejects_what_the_op_cannot_take(types, attrs, match):
    op = get_op("elastic_transform")
    with pytest.raises(ShapeError, match=match):
        op.infer_types([TensorType(d, s) for d, s in types], op.resolve_attrs({"kernel_size": 3, **attrs}))
