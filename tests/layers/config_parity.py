"""Config parity with Keras: the same keys and values (dtype aside, another form in Keras), and a round trip."""

from __future__ import annotations

import keras

import kgraph


def assert_config_matches_keras(factory, build_shape=None) -> None:
    """`factory(kgraph)` and `factory(keras)` have equal configs; kgraph's rebuilds itself and Keras reads it."""
    ours, theirs = factory(kgraph), factory(keras)
    if build_shape is not None:
        ours.build(build_shape)
        theirs.build(build_shape)
    config, expected = ours.get_config(), theirs.get_config()
    config.pop("dtype", None)
    expected.pop("dtype", None)
    assert config == expected
    clone = type(ours).from_config(ours.get_config())
    assert {k: v for k, v in clone.get_config().items() if k != "dtype"} == config
    keras_clone = type(theirs).from_config({k: v for k, v in ours.get_config().items() if k != "dtype"})
    assert {k: v for k, v in keras_clone.get_config().items() if k != "dtype"} == expected
