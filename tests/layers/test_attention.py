"""MultiHeadAttention, Attention and AdditiveAttention: Keras parity (XLA, ONNX Runtime, gradients), masks from
upstream layers, dynamic sequence lengths, configs and errors; and `ops.dot_product_attention`."""

import warnings

import keras
import numpy as np
import pytest

import kgraph
from kgraph import layers
from tests.layers.parity import check_layer

RNG = np.random.default_rng(0)
Q = RNG.normal(size=(2, 5, 6)).astype("float32")
Q[0, 3:] = 0  # masked by NonZeroMask: query steps that see nothing
V = RNG.normal(size=(2, 7, 4)).astype("float32")
V[0, 5:] = 0
V6 = RNG.normal(size=(2, 7, 6)).astype("float32")
V6[1, 4:] = 0
K = RNG.normal(size=(2, 7, 3)).astype("float32")
VIDEO = RNG.normal(size=(2, 2, 3, 4, 5)).astype("float32")
CONTEXT = RNG.normal(size=(2, 2, 3, 2, 4)).astype("float32")


def wrapped(lib, inner, masked: bool = False, positional: bool = True):
    """`inner` behind a layer taking one list of inputs (the harness's multi-input call): positional layers such as
    MultiHeadAttention get `inner(*inputs)`, list layers `inner(inputs)`; with `masked`, each input first gets a
    Keras mask that is false on all-zero steps, so the masks reach `inner` the way upstream layers send them."""

    class NonZeroMask(lib.layers.Layer):
        supports_masking = True

        def call(self, x):
            return x

        def compute_mask(self, x, mask=None):
            return lib.ops.not_equal(lib.ops.sum(lib.ops.abs(x), axis=-1), 0)

    class ListCall(lib.layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = inner
            self.masker = NonZeroMask()

        def build(self, shapes):
            self.inner.build(*shapes) if positional else self.inner.build(list(shapes))

        def call(self, inputs, return_attention_scores=False, use_causal_mask=False):
            if masked:
                inputs = [self.masker(x) for x in inputs]
            args = inputs if positional else [list(inputs)]
            return self.inner(*args, return_attention_scores=return_attention_scores, use_causal_mask=use_causal_mask)

    return ListCall()


SCORES, CAUSAL = {"return_attention_scores": True}, {"use_causal_mask": True}
# case: (factory, inputs, masked, call kwargs, whether to compare gradients — eager gradients of a new
# configuration compile op by op, so the cases of one code path share one gradient check)
PARITY = {
    # Keras' fused kernel: dropout 0, no scores returned, (batch, length, features) inputs.
    "mha-self-causal": (lambda lib: lib.layers.MultiHeadAttention(2, 3), [Q, Q], False, CAUSAL, True),
    "mha-key-masked": (lambda lib: lib.layers.MultiHeadAttention(3, 4, use_bias=False), [Q, V, K], True, None, False),
    # Keras' explicit softmax: scores returned, or dropout configured (even at inference), or other ranks.
    "mha-scores": (lambda lib: lib.layers.MultiHeadAttention(2, 3, value_dim=5, output_shape=(2, 4)), [Q, V], False,
                   SCORES, True),
    "mha-causal-scores": (lambda lib: lib.layers.MultiHeadAttention(2, 3), [Q, Q], True, {**SCORES, **CAUSAL}, False),
    "mha-masked-dropout": (lambda lib: lib.layers.MultiHeadAttention(2, 3, dropout=0.3), [Q, V], True, None, False),
    # Attention over axes 2 and 3 of (batch, 2, 3, 4, features): axis 1 is attended separately, like batch.
    "mha-axes": (lambda lib: lib.layers.MultiHeadAttention(2, 3, attention_axes=(2, -2)), [VIDEO, CONTEXT], False,
                 SCORES, False),
    "attention-dot": (lambda lib: lib.layers.Attention(), [Q, V6], True, SCORES, False),
    "attention-scale-causal": (lambda lib: lib.layers.Attention(use_scale=True), [Q, Q, Q], False, CAUSAL, False),
    "attention-concat": (lambda lib: lib.layers.Attention(score_mode="concat", use_scale=True), [Q, V6], True,
                         CAUSAL, True),
    "additive": (lambda lib: lib.layers.AdditiveAttention(), [Q, V, V6], True, SCORES, True),
}


@pytest.mark.parametrize("case", sorted(PARITY))
def test_matches_keras_onnx_and_gradients(case):
    factory, inputs, masked, call_kwargs, grad = PARITY[case]
    positional = case.startswith("mha")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_layer(lambda lib: wrapped(lib, factory(lib), masked, positional), inputs, rtol=1e-4, atol=1e-5,
                    grad=grad, call_kwargs=call_kwargs)


def test_masks_from_upstream_layers_change_the_result():
    """The parity cases with masks would pass if both libraries ignored them; kgraph's do not."""
    for factory, positional in ((lambda: layers.MultiHeadAttention(2, 3), True), (layers.Attention, False)):
        outputs = []
        for masked in (False, True):
            inputs = [kgraph.Input(shape=(5, 6)), kgraph.Input(shape=(7, 6))]
            kgraph.utils.set_random_seed(1)
            model = kgraph.Model(inputs, wrapped(kgraph, factory(), masked, positional)(inputs))
            outputs.append(model.predict([Q, V6], verbose=0))
        assert not np.allclose(outputs[0], outputs[1])


def test_causal_attention_with_unknown_lengths_runs_in_onnx_at_any_length(tmp_path):
    def build(lib):
        query, value = lib.Input(shape=(None, 6)), lib.Input(shape=(None, 6))
        mha = lib.layers.MultiHeadAttention(2, 3, dropout=0.2)  # dropout takes the path that builds the mask
        attended = mha(query, value, use_causal_mask=True)
        return lib.Model([query, value], lib.layers.Attention()([attended, value], use_causal_mask=True))

    ours, theirs = build(kgraph), build(keras)
    ours.set_weights(theirs.get_weights())
    path = str(tmp_path / "causal.onnx")
    kgraph.export.export_onnx(ours, path)
    served = kgraph.runtime.OnnxModel(path)
    for length in (3, 7):
        x = [RNG.normal(size=(2, length, 6)).astype("float32") for _ in range(2)]
        expected = theirs.predict(x, verbose=0)
        np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(served.predict(x), expected, rtol=1e-4, atol=1e-5)


def test_dropout_is_active_only_in_training_and_seeded():
    mha = layers.MultiHeadAttention(2, 3, dropout=0.5, seed=3)
    query = np.ones((4, 5, 6), "float32") + RNG.normal(size=(4, 5, 6)).astype("float32")
    inference = np.asarray(mha(query, query))
    np.testing.assert_allclose(np.asarray(mha(query, query, training=False)), inference)
    assert not np.allclose(np.asarray(mha(query, query, training=True)), inference)


@pytest.mark.parametrize("kwargs", [{}, {"mask": True}, {"mask": True, "is_causal": True}, {"bias": True},
                                    {"heads": (4, 2)}])
def test_dot_product_attention_matches_keras(kwargs):
    heads, kv_heads = kwargs.pop("heads", (2, 2))
    q = RNG.normal(size=(2, 5, heads, 3)).astype("float32")
    k, v = (RNG.normal(size=(2, 6, kv_heads, 3)).astype("float32") for _ in range(2))
    if kwargs.pop("mask", False):
        kwargs["mask"] = RNG.random((2, 1, 5, 6)) > 0.4
        kwargs["mask"][0, 0, 1] = False  # a query that sees no key averages every value
    if kwargs.pop("bias", False):
        kwargs["bias"] = RNG.normal(size=(1, heads, 5, 6)).astype("float32")
    np.testing.assert_allclose(np.asarray(kgraph.ops.dot_product_attention(q, k, v, **kwargs)),
                               np.asarray(keras.ops.dot_product_attention(q, k, v, **kwargs)), rtol=1e-5, atol=1e-6)


def test_mha_weights_have_keras_names_shapes_and_order():
    ours, theirs = layers.MultiHeadAttention(2, 3, name="mha"), keras.layers.MultiHeadAttention(2, 3, name="mha")
    ours.build((None, 4, 5), (None, 6, 7))
    theirs.build((None, 4, 5), (None, 6, 7))
    assert [(w.path, w.shape) for w in ours.weights] == [(w.path, tuple(w.shape)) for w in theirs.weights]


@pytest.mark.parametrize("layer", [
    layers.MultiHeadAttention(4, 8, value_dim=6, dropout=0.1, use_bias=False, output_shape=(3, 2),
                              attention_axes=(1,), kernel_initializer="he_normal",
                              kernel_regularizer=kgraph.regularizers.L2(0.01), seed=7),
    layers.Attention(use_scale=True, score_mode="concat", dropout=0.2, seed=1),
    layers.AdditiveAttention(use_scale=False, dropout=0.1),
], ids=["mha", "attention", "additive"])
def test_config_round_trips_and_names_keras_keys(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    theirs = getattr(keras.layers, type(layer).__name__).from_config(config).get_config()
    assert set(config) <= set(theirs)
    for key in set(config) - {"dtype", "kernel_initializer", "bias_initializer", "kernel_regularizer"}:
        assert config[key] == theirs[key], key


def test_bad_configs_and_inputs_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"'heads'.*num_heads=0"):
        layers.MultiHeadAttention(0, 3, name="heads")
    with pytest.raises(ValueError, match=r"dropout"):
        layers.MultiHeadAttention(2, 3, dropout=1.5)
    with pytest.raises(ValueError, match=r"'mha'.*value_shape=\(None, 6, 7\).*key_shape=\(None, 5, 7\)"):
        layers.MultiHeadAttention(2, 3, name="mha").build((None, 4, 5), (None, 6, 7), (None, 5, 7))
    with pytest.raises(ValueError, match=r"'axes'.*attention_axes \(3,\).*\(None, 4, 5\)"):
        layers.MultiHeadAttention(2, 3, attention_axes=3, name="axes").build((None, 4, 5), (None, 4, 5))
    with pytest.raises(ValueError, match=r"'att'.*score_mode.*'general'"):
        layers.Attention(score_mode="general", name="att")
    with pytest.raises(ValueError, match=r"(?s)'att2' \(Attention\).*list \[query, value\]"):
        layers.Attention(name="att2")(kgraph.Input(shape=(3, 4)))
    with pytest.raises(ValueError, match=r"(?s)\(Attention\).*query shape \(None, 3, 4\).*key shape \(None, 3, 5\)"):
        layers.Attention()([kgraph.Input(shape=(3, 4)), kgraph.Input(shape=(3, 5))])
