"""Config parity with Keras: the same keys and values (dtype aside, another form in Keras), and a round trip."""

from __future__ import annotations

import keras

import kgraph


def assert_config_matches_keras(factory, build_shape=None) -> None:
    """`factory(kgraph)` and `factory(keras)` have equal configs (auto-generated names aside: their counters run
    per library); kgraph's rebuilds itself and Keras reads it."""
    ours, theirs = factory(kgraph), factory(keras)
    if build_shape is not None:
        ours.build(build_shape)
        theirs.build(build_shape)
    config, expected = ours.get_config(), theirs.get_config()
    for key in ("dtype", "name"):
        config.pop(key, None)
        expected.pop(key, None)
    assert config == expected
    clone = type(ours).from_config(ours.get_config())
    assert clone.get_config() == ours.get_config()
    keras_clone = type(theirs).from_config({k: v for k, v in ours.get_config().items() if k != "dtype"})
    assert {k: v for k, v in keras_clone.get_config().items() if k not in ("dtype", "name")} == expected
