"""Quantized dtype policies and DTypePolicyMap: names, configs and from_config as Keras 3 has them, and layers
that look their policy up in a map by path."""

import keras
import pytest

import kgraph
from kgraph import dtype_policies


@pytest.mark.parametrize("name", ["int8_from_float32", "int8_from_mixed_bfloat16", "float8_from_float32",
                                  "int4_from_float32", "int4/128_from_float32", "int4/-1_from_bfloat16",
                                  "gptq/4/128_from_float32", "awq/4/-1_from_float32"])
def test_quantized_policies_by_name_match_keras(name):
    ours, theirs = dtype_policies.get(name), keras.dtype_policies.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    assert (ours.name, ours.compute_dtype, ours.variable_dtype, ours.quantization_mode) == \
        (theirs.name, theirs.compute_dtype, theirs.variable_dtype, theirs.quantization_mode)
    config = dtype_policies.serialize(ours)
    assert config == keras.dtype_policies.serialize(theirs)
    assert dtype_policies.deserialize(config) == ours
    assert keras.dtype_policies.deserialize(config) == theirs


@pytest.mark.parametrize("cls,mode,message", [
    ("QuantizedDTypePolicy", "int3", "Invalid quantization mode"),
    ("Int4DTypePolicy", "int4/0", "block_size"),
    ("GPTQDTypePolicy", "gptq/5/128", "weight_bits"),
    ("AWQDTypePolicy", "awq/8/128", "weight_bits"),
    ("GPTQDTypePolicy", "gptq/4", "Expected format"),
])
def test_invalid_quantized_policies_raise(cls, mode, message):
    with pytest.raises(ValueError, match=message):
        getattr(dtype_policies, cls)(mode, "float32")
    with pytest.raises(ValueError):
        getattr(keras.dtype_policies, cls)(mode, "float32")


def test_float16_int8_is_refused_as_in_keras():
    with pytest.raises(ValueError, match="float16"):
        dtype_policies.QuantizedDTypePolicy("int8", "float16")


def test_policy_map_lookups_and_config_cross_with_keras():
    policy_map = dtype_policies.DTypePolicyMap(default_policy="float32")
    policy_map["encoder/layer_0/dense"] = "bfloat16"
    policy_map["encoder/.*"] = dtype_policies.DTypePolicy("float16")
    policy_map["decoder"] = "int8_from_float32"
    assert policy_map["encoder/layer_0/dense"].name == "bfloat16"
    assert policy_map["encoder/attention/query"].name == "float16"
    assert policy_map["decoder/attention"].name == "float32"
    assert policy_map["decoder"].quantization_mode == "int8"
    assert policy_map.name == "map_float32" and len(policy_map) == 3
    with pytest.raises(ValueError, match="already exist"):
        policy_map["decoder"] = "float32"
    policy_map["encoder/attention/.*"] = "bfloat16"
    with pytest.raises(ValueError, match="matches multiple"):
        policy_map["encoder/attention/query"]

    keras_map = keras.dtype_policies.DTypePolicyMap()
    keras_map["a/dense"] = keras.dtype_policies.QuantizedDTypePolicy("int8", "float32")
    keras_map["b"] = "bfloat16"
    ours = dtype_policies.DTypePolicyMap()
    ours["a/dense"] = dtype_policies.QuantizedDTypePolicy("int8", "float32")
    ours["b"] = "bfloat16"
    assert dtype_policies.serialize(ours) == keras.dtype_policies.serialize(keras_map)
    back = dtype_policies.deserialize(keras.dtype_policies.serialize(keras_map))
    assert isinstance(back, dtype_policies.DTypePolicyMap) and back["a/dense"].quantization_mode == "int8"


def test_layers_look_their_policy_up_in_a_map_by_path():
    policy_map = dtype_policies.DTypePolicyMap(default_policy="float32", policy_map={"outer/dense_b": "bfloat16"})
    inputs = kgraph.Input((3,))
    with kgraph.name_scope("outer"):
        a = kgraph.layers.Dense(2, name="dense_a", dtype=policy_map)
        b = kgraph.layers.Dense(2, name="dense_b", dtype=policy_map)
        outputs = b(a(inputs))
    assert (a.path, b.path) == ("outer/dense_a", "outer/dense_b")
    assert a.kernel.dtype == "float32" and a.compute_dtype == "float32"
    assert b.kernel.dtype == "bfloat16" and b.compute_dtype == "bfloat16"
    assert outputs.dtype == "bfloat16"
