"""kgraph.tree, kgraph.backend and the added kgraph.config settings against Keras 3."""

import collections
import itertools

import keras
import numpy as np
import pytest

import kgraph
import kgraph.backend as kb
from kgraph import tree

Point = collections.namedtuple("Point", ["x", "y"])
STRUCTURES = [
    [1, (2, None), {"b": 3, "a": [4, 5]}],
    {"z": Point(1, 2), "y": (None,)},
    ((), [], {"k": ()}),
    7,
]


@pytest.mark.parametrize("structure", STRUCTURES, ids=range(len(STRUCTURES)))
def test_tree_functions_match_keras(structure):
    assert tree.flatten(structure) == keras.tree.flatten(structure)
    assert tree.flatten_with_path(structure) == keras.tree.flatten_with_path(structure)
    assert tree.is_nested(structure) == keras.tree.is_nested(structure)
    assert tree.map_structure(lambda v: None if v is None else v * 2, structure) == \
        keras.tree.map_structure(lambda v: None if v is None else v * 2, structure)
    flat = list(range(len(tree.flatten(structure))))
    assert tree.pack_sequence_as(structure, flat) == keras.tree.pack_sequence_as(structure, flat)
    assert tree.lists_to_tuples(structure) == keras.tree.lists_to_tuples(structure)
    to_none = lambda s: tree.MAP_TO_NONE if isinstance(s, tuple) and not s else None  # noqa: E731
    keras_none = lambda s: keras.tree.MAP_TO_NONE if isinstance(s, tuple) and not s else None  # noqa: E731
    assert tree.traverse(to_none, structure) == keras.tree.traverse(keras_none, structure)


def test_tree_structure_checks_and_shapes():
    tree.assert_same_structure([1, (2, 3)], [4, (5, 6)])
    with pytest.raises(ValueError, match="tuple"):
        tree.assert_same_structure([1, (2, 3)], [4, 5])
    with pytest.raises(ValueError, match="same nested structure"):
        tree.assert_same_structure([1, 2], [4, (5, 6)])
    with pytest.raises(ValueError, match="missing in `b`"):
        tree.assert_same_paths({"a": 1}, {"b": 1})
    assert tree.map_shape_structure(len, {"s": (None, 3), "t": [(2,)]}) == {"s": 2, "t": [1]}
    assert tree.map_structure_up_to((0, [0]), lambda x: [x], (1, [2])) == ([1], [[2]])
    with pytest.raises(ValueError, match="10 elements"):
        tree.pack_sequence_as([1, 2], list(range(10)))


DTYPES = ["bool", "int8", "uint8", "int32", "int64", "uint32", "float16", "bfloat16", "float32", "float64", int,
          float, bool]


@pytest.mark.parametrize("a,b", list(itertools.product(DTYPES, DTYPES)))
def test_result_type_matches_keras(a, b):
    assert kb.result_type(a, b) == keras.backend.result_type(a, b)


def test_backend_helpers_match_keras():
    for d in ("float16", "bfloat16", "int8", "uint32", "bool", None, int, float, np.float64):
        assert kb.standardize_dtype(d) == keras.backend.standardize_dtype(d)
        assert kb.is_float_dtype(d) == keras.backend.is_float_dtype(d)
        assert kb.is_int_dtype(d) == keras.backend.is_int_dtype(d)
    with pytest.raises(ValueError, match="Invalid dtype: foo"):
        kb.standardize_dtype("foo")
    assert kb.result_type() == kb.floatx() == "float32" and kb.backend() == "jax"
    assert kb.is_keras_tensor(kgraph.Input((2,))) and not kb.is_keras_tensor(np.ones(2))


def test_clear_session_restarts_names_and_get_uid_shares_the_counter():
    kb.clear_session()
    assert kgraph.layers.Dense(2).name == "dense"
    assert kb.get_uid("dense") == 2 and kgraph.layers.Dense(2).name == "dense_2"
    kb.clear_session(free_memory=False)
    assert kgraph.layers.Dense(2).name == "dense"


def test_config_limits_fit_and_flags():
    config = kgraph.config
    model = kgraph.Sequential([kgraph.Input((2,)), kgraph.layers.Dense(1)])
    model.compile("sgd", "mse")
    try:
        config.set_max_epochs(2)
        config.set_max_steps_per_epoch(3)
        history = model.fit(np.ones((40, 2)), np.ones((40, 1)), batch_size=4, epochs=10, verbose=0)
        assert len(history.epoch) == 2 and model.optimizer.iterations == 6
    finally:
        config.set_max_epochs(None)
        config.set_max_steps_per_epoch(None)
    with pytest.raises(ValueError, match="max_epochs"):
        config.set_max_epochs(0)
    with pytest.raises(ValueError, match="backend must be one of 'jax'"):
        config.set_backend("torch")
    config.disable_interactive_logging()
    assert not config.is_interactive_logging_enabled()
    config.enable_interactive_logging()
    assert config.is_interactive_logging_enabled() and config.is_nnx_enabled() is False
    assert config.is_flash_attention_enabled() is None
