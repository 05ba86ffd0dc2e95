"""`layers.serialize`/`deserialize` and InputSpec against Keras 3's."""

import keras
import pytest

import kgraph


def test_serialize_matches_keras_form_and_deserializes_both_ways():
    ours = kgraph.layers.serialize(kgraph.layers.Dropout(0.3, name="drop"))
    theirs = keras.layers.serialize(keras.layers.Dropout(0.3, name="drop"))
    assert {k: ours[k] for k in ("module", "class_name", "registered_name")} == \
        {k: theirs[k] for k in ("module", "class_name", "registered_name")}
    assert ours["config"]["rate"] == theirs["config"]["rate"] == 0.3
    restored = kgraph.layers.deserialize({**theirs, "config": {k: v for k, v in theirs["config"].items()
                                                              if k != "dtype"}})
    assert isinstance(restored, kgraph.layers.Dropout) and restored.rate == 0.3 and restored.name == "drop"
    assert isinstance(keras.layers.deserialize({**ours, "config": {k: v for k, v in ours["config"].items()
                                                                   if k != "dtype"}}), keras.layers.Dropout)
    with pytest.raises(ValueError, match=r"class_name"):
        kgraph.layers.deserialize("Dropout")


def test_input_spec_config_and_checks_match_keras():
    for kwargs in ({"ndim": 3}, {"shape": (None, 4)}, {"min_ndim": 2, "axes": {-1: 4}}):
        assert kgraph.layers.InputSpec(**kwargs).get_config() == keras.layers.InputSpec(**kwargs).get_config()
    spec = kgraph.layers.InputSpec(min_ndim=2, axes={-1: 4})
    spec.assert_compatible((None, 3, 4), "float32", "dense")
    with pytest.raises(ValueError, match=r"layer 'dense'.*axis -1.*value 4"):
        spec.assert_compatible((None, 3, 5), "float32", "dense")
    with pytest.raises(ValueError, match=r"min_ndim=2, found ndim=1"):
        spec.assert_compatible((4,), "float32", "dense")
