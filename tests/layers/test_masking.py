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
        assert get_mask(kgraph.layers.Dense(2)(masked)) is None
        assert get_mask(PassThrough()(masked)) is get_mask(masked)
