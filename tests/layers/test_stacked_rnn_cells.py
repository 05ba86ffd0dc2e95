"""StackedRNNCells in RNN: Keras parity (XLA, ONNX Runtime, gradients) with masks, backwards, nested states
returned and given, weights, config, a training step and a `.keras` file Keras saved."""

import keras
import numpy as np
import pytest

import kgraph
from kgraph import layers
from tests.layers.keras_crossing import assert_keras_file_loads, assert_train_step_matches, model_pair
from tests.layers.parity import check_layer
from tests.layers.test_rnn import MASKED_X, X

RTOL, ATOL = 1e-4, 1e-5


def stacked(lib, **rnn_kwargs):
    cells = [lib.layers.LSTMCell(3), lib.layers.GRUCell(4), lib.layers.SimpleRNNCell(2)]
    return lib.layers.RNN(lib.layers.StackedRNNCells(cells), **rnn_kwargs)


@pytest.mark.parametrize("kwargs", [dict(), dict(return_sequences=True, go_backwards=True)],
                         ids=["last", "sequences-backwards"])
def test_matches_keras_xla_onnx_and_gradients(kwargs, tmp_path):
    check_layer(lambda lib: stacked(lib, **kwargs), [X], rtol=RTOL, atol=ATOL, grad=not kwargs,
                tmp_dir=str(tmp_path))


def test_masked_sequences_match_keras(tmp_path):
    """Masked steps output the last cell's previous output; Keras finds it as the last cell's first state when the
    first cell has several states (with one, Keras reads the first cell's state instead), so these cells are LSTMs."""
    def factory(lib):
        class Masked(lib.layers.Layer):
            def __init__(self):
                super().__init__()
                self.masking = lib.layers.Masking(0.0)
                cells = lib.layers.StackedRNNCells([lib.layers.LSTMCell(3), lib.layers.LSTMCell(2)])
                self.rnn = lib.layers.RNN(cells, return_sequences=True)

            def call(self, x):
                return self.rnn(self.masking(x))

        return Masked()

    check_layer(factory, [MASKED_X], rtol=RTOL, atol=ATOL, grad=False, tmp_dir=str(tmp_path))


def test_returned_states_are_grouped_per_cell_and_initial_states_are_taken_back():
    def build(lib):
        x = lib.Input(shape=X.shape[1:])
        output, (h, c), g, s = stacked(lib, return_state=True)(x)
        again = stacked(lib)(x, initial_state=[[h, c], g, s])
        return lib.Model(x, [output, h, c, g, s, again])

    ours, theirs = model_pair(build)
    for a, b in zip(ours.predict(X, verbose=0), theirs.predict(X, verbose=0)):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def test_weights_have_keras_names_shapes_and_order():
    ours, theirs = stacked(kgraph), stacked(keras)
    ours.build((None, 6, 4))
    theirs.build((None, 6, 4))
    assert [(w.name, w.shape) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    assert ours.cell.state_size == theirs.cell.state_size == [[3, 3], 4, 2]
    assert ours.cell.output_size == 2


def test_config_round_trips_and_reads_keras_configs():
    ours = layers.StackedRNNCells([layers.LSTMCell(3, name="a"), layers.GRUCell(2, name="b")], name="stack")
    theirs = keras.layers.StackedRNNCells([keras.layers.LSTMCell(3, name="a"), keras.layers.GRUCell(2, name="b")],
                                          name="stack")
    config, expected = ours.get_config(), theirs.get_config()
    assert set(config) == set(expected)
    assert [c["class_name"] for c in config["cells"]] == [c["class_name"] for c in expected["cells"]]
    for cell, keras_cell in zip(config["cells"], expected["cells"]):
        assert {k: v for k, v in cell["config"].items() if k != "dtype"} == \
            {k: v for k, v in keras_cell["config"].items() if k != "dtype"}
    assert layers.StackedRNNCells.from_config(config).get_config() == config
    assert layers.StackedRNNCells.from_config(expected).get_config()["cells"][1]["config"]["units"] == 2
    rnn = layers.RNN(ours)
    assert layers.RNN.from_config(rnn.get_config()).get_config() == rnn.get_config()


def _model(lib):
    x = lib.Input(shape=X.shape[1:])
    return lib.Model(x, lib.layers.Dense(1)(stacked(lib, name="stack")(x)))


def test_one_training_step_matches_keras():
    assert_train_step_matches(_model, X, np.ones((len(X), 1), "float32"), rtol=RTOL, atol=ATOL)


def test_keras_file_loads(tmp_path):
    assert_keras_file_loads(_model, X, tmp_path, rtol=RTOL, atol=ATOL, paths=False)


def test_cells_without_call_or_state_size_are_refused():
    with pytest.raises(ValueError, match="`state_size`"):
        layers.StackedRNNCells([layers.Dense(2)])
