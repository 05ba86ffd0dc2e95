"""Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot and their functional forms: Keras parity
(XLA, ONNX Runtime, gradients), masks merged as Keras merges them, configs, and shape errors at build time."""

import keras
import numpy as np
import pytest

import kgraph
from tests.layers.parity import check_layer

rng = np.random.default_rng(0)
A = rng.normal(size=(3, 4, 5)).astype("float32")
B = rng.normal(size=(3, 4, 5)).astype("float32")
C = rng.normal(size=(3, 4, 5)).astype("float32")
V = rng.normal(size=(3, 5)).astype("float32")
W = rng.normal(size=(3, 5)).astype("float32")
R = rng.normal(size=(3, 4, 6)).astype("float32")

# (id, factory of the layer for a library, inputs)
CASES = [
    ("add", lambda lib: lib.layers.Add(), [A, B, C]),
    ("add_broadcast_rank", lambda lib: lib.layers.Add(), [A, V]),
    ("subtract", lambda lib: lib.layers.Subtract(), [A, B]),
    ("multiply", lambda lib: lib.layers.Multiply(), [A, B, C]),
    ("average", lambda lib: lib.layers.Average(), [A, B, C]),
    ("maximum", lambda lib: lib.layers.Maximum(), [A, B, C]),
    ("minimum", lambda lib: lib.layers.Minimum(), [A, B]),
    ("concatenate", lambda lib: lib.layers.Concatenate(), [A, R]),
    ("concatenate_axis1", lambda lib: lib.layers.Concatenate(axis=1), [A, B, C]),
    ("dot_vectors", lambda lib: lib.layers.Dot(axes=1), [V, W]),
    ("dot_sequences", lambda lib: lib.layers.Dot(axes=(2, 2)), [A, R[..., :5]]),
    ("dot_mixed_axes", lambda lib: lib.layers.Dot(axes=(1, 1)), [A, R]),
    ("dot_matrix_vector", lambda lib: lib.layers.Dot(axes=(2, 1)), [A, V]),
    ("dot_normalize", lambda lib: lib.layers.Dot(axes=-1, normalize=True), [A, B]),
]


@pytest.mark.parametrize("name,factory,inputs", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_keras_xla_and_onnx(name, factory, inputs, tmp_path):
    check_layer(factory, inputs, tmp_dir=str(tmp_path))


@pytest.mark.parametrize("name,factory,inputs", CASES, ids=[c[0] for c in CASES])
def test_config_round_trip(name, factory, inputs):
    layer = factory(kgraph)
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    theirs = factory(keras).get_config()
    assert {k: v for k, v in config.items() if k not in ("name", "dtype")} == \
        {k: v for k, v in theirs.items() if k not in ("name", "dtype")}


@pytest.mark.parametrize("form,cls,kwargs", [
    ("add", "Add", {}), ("subtract", "Subtract", {}), ("multiply", "Multiply", {}), ("average", "Average", {}),
    ("maximum", "Maximum", {}), ("minimum", "Minimum", {}), ("concatenate", "Concatenate", {"axis": 1}),
    ("dot", "Dot", {"axes": 2}),
])
def test_functional_forms_make_the_layer(form, cls, kwargs):
    a, b = kgraph.Input(shape=(4, 5)), kgraph.Input(shape=(4, 5))
    out = getattr(kgraph.layers, form)([a, b], name=f"my_{form}", **kwargs)
    model = kgraph.Model([a, b], out)
    assert type(model.get_layer(f"my_{form}")).__name__ == cls
    expected = getattr(keras.layers, form)([A, B], **kwargs)
    np.testing.assert_allclose(model.predict([A, B], verbose=0), np.asarray(expected), rtol=1e-5, atol=1e-6)


def mask_as_float(lib):
    """A layer of `lib` returning its input's mask as float32."""

    class MaskAsFloat(lib.layers.Layer):
        def __init__(self):
            super().__init__()
            self.supports_masking = True

        def call(self, inputs, mask=None):
            return lib.ops.cast(mask, "float32")

    return MaskAsFloat()


MASKED_A = A.copy()
MASKED_A[0, 1] = 0.0
MASKED_A[1, 3] = 0.0
MASKED_B = B.copy()
MASKED_B[0, 1] = 0.0
MASKED_B[2, 0] = 0.0


def _masked_merge(lib, merge, with_second_mask: bool):
    a, b = lib.Input(shape=(4, 5)), lib.Input(shape=(4, 5))
    second = lib.layers.Masking()(b) if with_second_mask else b
    merged = merge(lib)([lib.layers.Masking()(a), second])
    return lib.Model([a, b], [merged, mask_as_float(lib)(merged)] if with_second_mask else merged)


@pytest.mark.parametrize("with_second_mask", [True, False], ids=["both_masked", "one_masked"])
@pytest.mark.parametrize("merge", [
    lambda lib: lib.layers.Add(), lambda lib: lib.layers.Multiply(), lambda lib: lib.layers.Maximum(),
    lambda lib: lib.layers.Minimum(), lambda lib: lib.layers.Average(), lambda lib: lib.layers.Concatenate(axis=1),
    lambda lib: lib.layers.Concatenate(),
], ids=["add", "multiply", "maximum", "minimum", "average", "concatenate_steps", "concatenate_features"])
def test_masks_merge_as_in_keras(merge, with_second_mask, tmp_path):
    ours, theirs = _masked_merge(kgraph, merge, with_second_mask), _masked_merge(keras, merge, with_second_mask)
    expected = theirs.predict([MASKED_A, MASKED_B], verbose=0)
    actual = ours.predict([MASKED_A, MASKED_B], verbose=0)
    for got, want in zip(actual if with_second_mask else [actual], expected if with_second_mask else [expected]):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    path = str(tmp_path / "masked.onnx")
    ours.export(path)
    served = kgraph.runtime.OnnxModel(path).predict([MASKED_A, MASKED_B])
    for got, want in zip(served if with_second_mask else [served], actual if with_second_mask else [actual]):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_dot_drops_the_mask():
    a, b = kgraph.Input(shape=(4, 5)), kgraph.Input(shape=(4, 5))
    out = kgraph.layers.Dot(axes=2)([kgraph.layers.Masking()(a), kgraph.layers.Masking()(b)])
    assert getattr(out, "_keras_mask", None) is None


@pytest.mark.parametrize("make,shapes,match", [
    (lambda: kgraph.layers.Add(), [(4, 5), (4, 6)], r"Add.*compatible shapes.*\(None, 4, 5\).*\(None, 4, 6\)"),
    (lambda: kgraph.layers.Multiply(), [(3,), (4,)], r"Multiply.*\(None, 3\).*\(None, 4\)"),
    (lambda: kgraph.layers.Subtract(), [(3,), (3,), (3,)], r"Subtract.*exactly 2 inputs"),
    (lambda: kgraph.layers.Concatenate(), [(4, 5), (3, 5)], r"Concatenate.*except on axis -1.*\(None, 3, 5\)"),
    (lambda: kgraph.layers.Concatenate(axis=1), [(4, 5), (4,)], r"Concatenate.*one rank"),
    (lambda: kgraph.layers.Dot(axes=1), [(4, 5), (5, 5)], r"Dot.*dim 4 \(axis 1\).*dim 5 \(axis 1\)"),
    (lambda: kgraph.layers.Dot(axes=(0, 1)), [(4,), (4,)], r"Dot.*batch axis"),
    (lambda: kgraph.layers.Dot(axes=1), [(4,), (4,), (4,)], r"Dot.*exactly 2"),
])
def test_bad_shapes_fail_at_build_naming_layer_and_shapes(make, shapes, match):
    layer = make()
    with pytest.raises(ValueError, match=match) as info:
        layer([kgraph.Input(shape=s) for s in shapes])
    assert repr(layer.name) in str(info.value)


def test_merge_layers_need_a_list():
    with pytest.raises(ValueError, match="list"):
        kgraph.layers.Add()(kgraph.Input(shape=(3,)))
    with pytest.raises(ValueError, match="axes"):
        kgraph.layers.Dot(axes=(1, 2, 3))
