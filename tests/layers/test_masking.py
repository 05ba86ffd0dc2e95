"""Mask propagation through the Layer call protocol."""

import numpy as np

import kgraph
from kgraph import ops
from kgraph.layers.layer import get_mask


class MakeMask(kgraph.layers.Layer):
    supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_mask(self, inputs, previous_mask):
        return ops.not_equal(ops.sum(inputs, axis=-1), 0)


class PassThrough(kgraph.layers.Layer):
    supports_masking = True

    def call(self, inputs):
        return inputs * 2.0


class MaskedMean(kgraph.layers.Layer):
    def call(self, inputs, mask=None):
        weights = ops.expand_dims(ops.cast(mask, "float32"), -1)
        return ops.sum(inputs * weights, axis=1) / ops.sum(weights, axis=1)


def test_masks_flow_from_producer_through_supporting_layers_to_consumers():
    inputs = kgraph.Input(shape=(3, 2))
    out = MaskedMean()(PassThrough()(MakeMask()(inputs)))
    model = kgraph.Model(inputs, out)
    x = np.array([[[1, 1], [0, 0], [3, 3]]], "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), [[4.0, 4.0]])


def test_layers_without_mask_support_drop_the_mask():
    from kgraph.tracing import Trace
    from kgraph.ir import TensorType

    with Trace() as t:
        x = t.input(TensorType("float32", ("batch", 3, 2)), "x")
        masked = MakeMask()(x)
        assert get_mask(masked) is not None
        assert get_mask(kgraph.layers.Reshape((6,))(masked)) is None
        assert get_mask(kgraph.layers.Dense(2)(masked)) is get_mask(masked)
        assert get_mask(PassThrough()(masked)) is get_mask(masked)


def test_eager_calls_attach_keras_masks_as_keras_does():
    import keras

    tokens = np.array([[3, 5, 0, 0]])
    for lib in (kgraph, keras):
        embedded = lib.layers.Embedding(8, 2, mask_zero=True)(tokens)
        np.testing.assert_array_equal(np.asarray(embedded._keras_mask), [[True, True, False, False]])
        dense = lib.layers.Dense(3)(embedded)
        np.testing.assert_array_equal(np.asarray(dense._keras_mask), [[True, True, False, False]])
        masked = lib.layers.Masking()(np.array([[[1.0], [0.0]]], "float32"))
        np.testing.assert_array_equal(np.asarray(masked._keras_mask), [[True, False]])
        assert lib.layers.Embedding(8, 2, mask_zero=True).compute_mask(tokens).shape == (1, 4)
        assert lib.layers.Masking().compute_mask(np.zeros((1, 2, 1), "float32")) is not None
    for name in ("Dense", "Activation", "Dropout"):
        assert getattr(kgraph.layers, name).supports_masking


def _temporal_split(lib):
    """The masking guide's layer: it overrides `compute_mask` without setting `supports_masking`."""

    class TemporalSplit(lib.layers.Layer):
        def call(self, inputs):
            return lib.ops.split(inputs, 2, axis=1)

        def compute_mask(self, inputs, mask=None):
            if mask is None:
                return None
            return lib.ops.split(mask, 2, axis=1)

    return TemporalSplit()


def test_a_layer_overriding_compute_mask_supports_masking_as_in_keras():
    import keras

    padded = np.array([[711, 632, 71, 0, 0, 0], [73, 8, 3215, 55, 927, 0]])
    features = np.repeat(padded[..., None], 10, axis=-1).astype("float32")
    for lib in (kgraph, keras):
        masked = lib.layers.Masking()(features)
        first, second = _temporal_split(lib)(masked)
        np.testing.assert_array_equal(np.asarray(first._keras_mask), [[True] * 3, [True] * 3])
        np.testing.assert_array_equal(np.asarray(second._keras_mask), [[False] * 3, [True, True, False]])
        assert _temporal_split(lib).supports_masking
        assert not lib.layers.Layer().supports_masking
    quiet = _temporal_split(kgraph)
    quiet.supports_masking = False
    assert get_mask(quiet(kgraph.layers.Masking()(features))[0]) is None
