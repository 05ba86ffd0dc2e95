"""GroupQueryAttention: Keras parity (XLA, ONNX Runtime, gradients) on both attention paths, masks, causal and
sliding-window masks, weights, config, a training step and a `.keras` file Keras saved."""

import warnings

import keras
import numpy as np
import pytest

import kgraph
from kgraph import layers
from tests.layers.config_parity import assert_config_matches_keras
from tests.layers.keras_crossing import assert_keras_file_loads, assert_train_step_matches
from tests.layers.parity import check_layer
from tests.layers.test_attention import CAUSAL, Q, SCORES, V6, wrapped

RNG = np.random.default_rng(1)
K = RNG.normal(size=(2, 7, 3)).astype("float32")

# case: (factory, inputs, masked, call kwargs, compare gradients)
PARITY = {
    "fused-self-causal": (lambda lib: lib.layers.GroupQueryAttention(3, 4, 2), [Q, Q], False, CAUSAL, True),
    "fused-key-masked": (lambda lib: lib.layers.GroupQueryAttention(3, 4, 1, use_bias=False), [Q, V6, K], True,
                         None, False),
    "fused-sliding-window-gate": (lambda lib: lib.layers.GroupQueryAttention(2, 4, 2, sliding_window=2,
                                                                             use_gate=True), [Q, V6], False, None,
                                  False),
    "scores": (lambda lib: lib.layers.GroupQueryAttention(3, 4, 2, use_gate=True), [Q, V6], False, SCORES, True),
    "scores-masked-causal": (lambda lib: lib.layers.GroupQueryAttention(3, 2, 2), [Q, Q], True,
                             {**SCORES, **CAUSAL}, False),
    "dropout-masked": (lambda lib: lib.layers.GroupQueryAttention(3, 4, 2, dropout=0.3), [Q, V6], True, None, False),
}


@pytest.mark.parametrize("case", sorted(PARITY))
def test_matches_keras_onnx_and_gradients(case):
    factory, inputs, masked, call_kwargs, grad = PARITY[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_layer(lambda lib: wrapped(lib, factory(lib), masked), inputs, rtol=1e-4, atol=1e-5, grad=grad,
                    call_kwargs=call_kwargs)


def test_weights_have_keras_names_shapes_and_order():
    for kwargs in ({}, {"use_gate": True, "use_bias": False}):
        ours, theirs = (lib.layers.GroupQueryAttention(3, 4, 2, name="gqa", **kwargs) for lib in (kgraph, keras))
        ours.build((None, 4, 5), (None, 6, 7))
        theirs.build((None, 4, 5), (None, 6, 7))
        assert [(w.path, w.shape) for w in ours.weights] == [(w.path, tuple(w.shape)) for w in theirs.weights]


def test_config_matches_keras_and_round_trips():
    assert_config_matches_keras(lambda lib: lib.layers.GroupQueryAttention(
        4, 4, 2, dropout=0.1, use_bias=False, sliding_window=3, use_gate=True, kernel_initializer="he_normal",
        kernel_regularizer="l2", seed=7))


def _model(lib):
    query, value = lib.Input(shape=(5, 6)), lib.Input(shape=(7, 6))
    attended = lib.layers.GroupQueryAttention(3, 4, 2, name="gqa")(query, value, use_causal_mask=True)
    return lib.Model([query, value], lib.layers.Dense(2)(attended))


def test_one_training_step_matches_keras():
    assert_train_step_matches(_model, [Q, V6], RNG.normal(size=(2, 5, 2)).astype("float32"), rtol=1e-4, atol=1e-5)


def test_keras_file_loads(tmp_path):
    assert_keras_file_loads(_model, [Q, V6], tmp_path, rtol=1e-4, atol=1e-5)


def test_bad_configs_fail_naming_the_argument():
    with pytest.raises(ValueError, match="divisible"):
        layers.GroupQueryAttention(4, 3, 2)
    with pytest.raises(ValueError, match="sliding_window=0"):
        layers.GroupQueryAttention(4, 4, 2, sliding_window=0)
    with pytest.raises(ValueError, match=r"'g'.*head_dim=0"):
        layers.GroupQueryAttention(0, 4, 2, name="g")
    with pytest.raises(ValueError, match=r"value_shape=\(None, 6, 7\).*key_shape=\(None, 5, 7\)"):
        layers.GroupQueryAttention(4, 4, 2).build((None, 4, 5), (None, 6, 7), (None, 5, 7))
