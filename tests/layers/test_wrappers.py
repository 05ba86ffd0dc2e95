"""TimeDistributed and Wrapper: Keras parity on XLA and ONNX Runtime with gradients, config round trips."""

import re

import keras
import numpy as np
import pytest

import kgraph
from tests.layers.parity import check_layer

rng = np.random.default_rng(0)
SEQ = rng.normal(size=(2, 5, 4)).astype("float32")
FRAMES = rng.normal(size=(2, 3, 6, 6, 2)).astype("float32")


@pytest.mark.parametrize("factory,x", [
    (lambda lib: lib.layers.TimeDistributed(lib.layers.Dense(3, activation="relu")), SEQ),
    (lambda lib: lib.layers.TimeDistributed(lib.layers.Conv2D(2, 3)), FRAMES),
], ids=["dense", "conv2d"])
def test_time_distributed_matches_keras_xla_and_onnx(factory, x, tmp_path):
    check_layer(factory, [x], tmp_dir=str(tmp_path))


def test_time_distributed_config_round_trips_and_reads_keras_configs():
    ours = kgraph.layers.TimeDistributed(kgraph.layers.Dense(3, name="inner"), name="td")
    config = ours.get_config()
    assert config["layer"]["class_name"] == "Dense" and config["layer"]["config"]["units"] == 3
    assert kgraph.layers.TimeDistributed.from_config(config).get_config() == config
    theirs = keras.layers.TimeDistributed(keras.layers.Dense(3, name="inner"), name="td").get_config()
    assert set(config) == set(theirs) and config["name"] == theirs["name"]
    assert {k: config["layer"][k] for k in ("module", "class_name")} == \
        {k: theirs["layer"][k] for k in ("module", "class_name")}
    clone = kgraph.layers.TimeDistributed.from_config(config)
    model = kgraph.Sequential([kgraph.Input((5, 4)), clone])
    assert [w.shape for w in model.weights] == [(4, 3), (3,)]


def test_time_distributed_needs_known_timesteps():
    with pytest.raises(ValueError, match=r"at least 3 dimensions"):
        kgraph.layers.TimeDistributed(kgraph.layers.Dense(2))(kgraph.Input((4,)))
    with pytest.raises(ValueError, match=r"known number of timesteps"):
        kgraph.layers.TimeDistributed(kgraph.layers.Dense(2))(kgraph.Input((None, 4)))
    with pytest.raises(ValueError, match=r"TimeDistributed.*Layer"):
        kgraph.layers.TimeDistributed("dense")


TOKENS = np.array([[1, 4, 0], [3, 3, 2]], "int32")


@pytest.mark.parametrize("factory,call_kwargs,x", [
    (lambda lib: lib.layers.ReversibleEmbedding(6, 4, mask_zero=True), None, TOKENS),
    (lambda lib: lib.layers.ReversibleEmbedding(6, 4), {"reverse": True}, SEQ),
    (lambda lib: lib.layers.ReversibleEmbedding(6, 4, tie_weights=False, logit_soft_cap=2.0), {"reverse": True},
     SEQ),
], ids=["embed", "reverse_tied", "reverse_untied_soft_cap"])
def test_reversible_embedding_matches_keras(factory, call_kwargs, x, tmp_path):
    check_layer(factory, [x], call_kwargs=call_kwargs, tmp_dir=str(tmp_path))


def test_reversible_embedding_weights_config_and_mask():
    ours, theirs = (lib.layers.ReversibleEmbedding(6, 4, tie_weights=False, name="rev") for lib in (kgraph, keras))
    ours.build(), theirs.build()
    assert [(w.name, w.shape) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    config, expected = ours.get_config(), theirs.get_config()
    for key in ("tie_weights", "reverse_dtype", "logit_soft_cap", "input_dim", "output_dim", "mask_zero"):
        assert config[key] == expected[key]
    masked = kgraph.layers.ReversibleEmbedding(6, 4, mask_zero=True)(TOKENS)
    np.testing.assert_array_equal(np.asarray(masked._keras_mask), TOKENS != 0)



def _strip_counters(path: str) -> str:
    """A variable path without the `_N` suffixes that each library's per-session name counters add."""
    return re.sub(r"_\d+(?=/|$)", "", path)


def test_variable_paths_follow_keras_name_scopes_in_sequential_and_wrappers():
    def paths(lib):
        model = lib.Sequential([lib.Input((5, 4)), lib.layers.TimeDistributed(lib.layers.Dense(3)),
                                lib.layers.Bidirectional(lib.layers.LSTM(2)), lib.layers.Dense(1)])
        inputs = lib.Input((5, 4))
        functional = lib.Model(inputs, lib.layers.TimeDistributed(lib.layers.Dense(3))(inputs))
        lazy = lib.Sequential([lib.layers.Dense(2), lib.layers.BatchNormalization()])
        lazy(lib.ops.ones((2, 3)))
        return [_strip_counters(w.path) for m in (model, functional, lazy) for w in m.weights]

    ours = paths(kgraph)
    assert ours == paths(keras)
    assert "sequential/bidirectional/forward_lstm/lstm_cell/kernel" in ours
    assert "time_distributed/dense/kernel" in ours
